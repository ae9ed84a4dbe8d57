/* The sluice command line: parse arguments, load the pipeline file, run one command, and turn
 * its error into one line on stderr and an exit status. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/pipeline.h"

/* What a command gets from the command line beside its pipeline file. */
struct args {
	bool once;
	char **tables; /* resync */
	int ntables;
};

static int cmd_run(const sl_config *cfg, const struct args *a, sl_error *err)
{
	return sl_pipeline_run(cfg, a->once, err);
}
static int cmd_check(const sl_config *cfg, const struct args *a, sl_error *err)
{
	(void)a;
	return sl_pipeline_check(cfg, err);
}
static int cmd_discover(const sl_config *cfg, const struct args *a, sl_error *err)
{
	(void)a;
	return sl_pipeline_discover(cfg, err);
}
static int cmd_resync(const sl_config *cfg, const struct args *a, sl_error *err)
{
	return sl_pipeline_resync(cfg, a->tables, a->ntables, err);
}
static int cmd_verify(const sl_config *cfg, const struct args *a, sl_error *err)
{
	(void)a;
	return sl_pipeline_verify(cfg, err);
}
static int cmd_status(const sl_config *cfg, const struct args *a, sl_error *err)
{
	(void)a;
	return sl_pipeline_status(cfg, err);
}
static int cmd_reset(const sl_config *cfg, const struct args *a, sl_error *err)
{
	(void)a;
	return sl_pipeline_reset(cfg, err);
}

/* The commands: what dispatches them also writes the help, so the two cannot disagree. */
static const struct command {
	const char *name;
	const char *help; /* lines after the first are indented under it */
	int (*run)(const sl_config *cfg, const struct args *a, sl_error *err);
} commands[] = {
        {"check",
         "preflight: connectivity, privileges and server settings, each failure with its\n"
         "fix",
         cmd_check},
        {"discover", "list the selected tables, their keys and the type each column maps to",
         cmd_discover},
        {"run",
         "snapshot every selected table not yet copied (resumes an interrupted snapshot), then\n"
         "stream changes until SIGINT/SIGTERM (--once: until caught up); tables new to the\n"
         "pipeline are copied while streaming",
         cmd_run},
        {"resync", "copy tables (schema.table) again while a run streams, without stopping it",
         cmd_resync},
        {"verify", "compare row counts and content digests of every table on source and target",
         cmd_verify},
        {"status",
         "show the consistent point, the snapshot, how far the target is behind, the\n"
         "replication slot or binlog position, each table and each backfill",
         cmd_status},
        {"reset",
         "drop the pipeline's replication slot and forget its state (target data is\n"
         "kept)",
         cmd_reset},
};

static void usage(FILE *out)
{
	fputs("usage: sluice COMMAND [OPTIONS] PIPELINE.yaml\n"
	      "       sluice resync PIPELINE.yaml TABLE...\n"
	      "       sluice version | --version\n"
	      "\ncommands:\n",
	      out);
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
		fprintf(out, "  %-9s ", commands[i].name);
		for (const char *p = commands[i].help; *p; p++) {
			fputc(*p, out);
			if (*p == '\n')
				fputs("            ", out);
		}
		fputc('\n', out);
	}
	fputs("  version   print the version\n"
	      "\noptions:\n"
	      "  --once              (run) stop once caught up with the source's position at "
	      "start\n"
	      "  --log-level LEVEL   debug, info, warn or error (default: info, or log_level in "
	      "the "
	      "file)\n"
	      "  -h, --help          show this help\n"
	      "  --version           print the version\n"
	      "\nexit status: 0 success, 1 failure, 2 bad command line or pipeline file, 3 verify "
	      "found\ndifferences, 130 stopped by a signal\n",
	      out);
}

static void on_signal(int sig)
{
	(void)sig;
	sl_stop_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int fail(const sl_error *err)
{
	char msg[sizeof err->msg];
	snprintf(msg, sizeof msg, "%s", err->msg);
	sl_log_final(msg);
	return sl_error_exit_status(err->code);
}

int main(int argc, char **argv)
{
	const char *command = NULL, *path = NULL, *level = NULL;
	/* resync's tables, gathered at the front of argv (each is moved down, never up) */
	char **tables = argv + 1;
	int ntables = 0;
	bool once = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0) {
			printf("sluice %s\n", SLUICE_VERSION);
			return 0;
		} else if (strcmp(a, "--once") == 0) {
			once = true;
		} else if (strcmp(a, "--log-level") == 0 && i + 1 < argc) {
			level = argv[++i];
		} else if (strncmp(a, "--log-level=", 12) == 0) {
			level = a + 12;
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "sluice: error: unknown option '%s' (see sluice --help)\n",
			        a);
			return 2;
		} else if (command == NULL) {
			command = a;
		} else if (path == NULL) {
			path = a;
		} else if (strcmp(command, "resync") == 0) {
			tables[ntables++] = argv[i];
		} else {
			fprintf(stderr,
			        "sluice: error: unexpected argument '%s' (see sluice --help)\n", a);
			return 2;
		}
	}
	if (command == NULL) {
		usage(stderr);
		return 2;
	}
	if (strcmp(command, "version") == 0) {
		printf("sluice %s\n", SLUICE_VERSION);
		return 0;
	}
	const struct command *cmd = NULL;
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (strcmp(command, commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		fprintf(stderr, "sluice: error: unknown command '%s' (see sluice --help)\n",
		        command);
		return 2;
	}
	if (path == NULL) {
		fprintf(stderr,
		        "sluice: error: %s needs a pipeline file: sluice %s PIPELINE.yaml\n",
		        command, command);
		return 2;
	}
	if (strcmp(command, "resync") == 0 && ntables == 0) {
		fprintf(stderr, "sluice: error: resync needs the tables to copy: sluice resync "
		                "PIPELINE.yaml SCHEMA.TABLE...\n");
		return 2;
	}
	if (once && strcmp(command, "run") != 0) {
		fprintf(stderr, "sluice: error: --once goes with 'run' only\n");
		return 2;
	}
	if (level && sl_log_parse_level(level) < 0) {
		fprintf(stderr, "sluice: error: --log-level must be debug, info, warn or error\n");
		return 2;
	}
	install_signals();

	sl_error err = {0};
	sl_config *cfg = NULL;
	if (sl_config_load(path, &cfg, &err) < 0)
		return fail(&err);
	/* the source and target types, and the keys of their sections, before anything else */
	const sl_source_ops *sops;
	const sl_target_ops *tops;
	if (sl_pipeline_connectors(cfg, &sops, &tops, &err) < 0) {
		sl_config_free(cfg);
		return fail(&err);
	}
	if (level)
		sl_log_set_level((sl_log_level)sl_log_parse_level(level));
	else if (cfg->log_level && sl_log_parse_level(cfg->log_level) >= 0)
		sl_log_set_level((sl_log_level)sl_log_parse_level(cfg->log_level));
	if (cfg->log_json)
		sl_log_set_json(cfg->name);

	struct args args = {.once = once, .tables = tables, .ntables = ntables};
	int rc = cmd->run(cfg, &args, &err);
	sl_config_free(cfg);
	if (rc < 0)
		return fail(&err);
	return 0;
}
