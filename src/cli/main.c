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

static const char usage[] =
        "usage: sluice COMMAND [OPTIONS] PIPELINE.yaml\n"
        "       sluice resync PIPELINE.yaml TABLE...\n"
        "\n"
        "commands:\n"
        "  check     preflight: connectivity, privileges and server settings, each failure with "
        "its fix\n"
        "  discover  list the selected tables, their keys and the type each column maps to\n"
        "  run       snapshot every selected table not yet copied (resumes an interrupted "
        "snapshot),\n"
        "            then stream changes; tables new to the pipeline are copied while "
        "streaming\n"
        "  resync    copy tables (schema.table) again while a run streams, without stopping "
        "it\n"
        "  verify    compare row counts and content digests of every table on source and target\n"
        "  status    show the consistent point and each table's snapshot status\n"
        "  reset     drop the pipeline's replication slot and forget its state (target data is "
        "kept)\n"
        "  version   print the version\n"
        "\n"
        "options:\n"
        "  --once              (run) stop once caught up with the source's position at "
        "start\n"
        "  --log-level LEVEL   debug, info, warn or error (default: info, or log_level in the "
        "file)\n"
        "  -h, --help          show this help\n"
        "\n"
        "exit status: 0 success, 1 failure, 2 bad command line or pipeline file, 3 verify found\n"
        "differences, 130 stopped by a signal\n";

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
	sl_redact_secrets(msg, sizeof msg);
	fprintf(stderr, "sluice: error: %s\n", msg);
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
			fputs(usage, stdout);
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
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(command, "version") == 0) {
		printf("sluice %s\n", SLUICE_VERSION);
		return 0;
	}
	static const char *commands[] = {"run",    "check", "discover", "verify",
	                                 "status", "reset", "resync"};
	bool known = false;
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		known = known || strcmp(command, commands[i]) == 0;
	if (!known) {
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
	if (level)
		sl_log_set_level((sl_log_level)sl_log_parse_level(level));
	else if (cfg->log_level && sl_log_parse_level(cfg->log_level) >= 0)
		sl_log_set_level((sl_log_level)sl_log_parse_level(cfg->log_level));

	int rc;
	if (strcmp(command, "run") == 0)
		rc = sl_pipeline_run(cfg, once, &err);
	else if (strcmp(command, "check") == 0)
		rc = sl_pipeline_check(cfg, &err);
	else if (strcmp(command, "discover") == 0)
		rc = sl_pipeline_discover(cfg, &err);
	else if (strcmp(command, "verify") == 0)
		rc = sl_pipeline_verify(cfg, &err);
	else if (strcmp(command, "status") == 0)
		rc = sl_pipeline_status(cfg, &err);
	else if (strcmp(command, "resync") == 0)
		rc = sl_pipeline_resync(cfg, tables, ntables, &err);
	else
		rc = sl_pipeline_reset(cfg, &err);
	sl_config_free(cfg);
	if (rc < 0)
		return fail(&err);
	return 0;
}
