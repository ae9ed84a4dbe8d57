/* file:// stores: a directory of the local (or a mounted) filesystem.
 *
 * An object is written to a hidden temporary file beside its final name, flushed to disk
 * (fsync), then renamed over the final name and the directory flushed: readers see the whole
 * object or nothing, and a crash leaves at most a temporary file, which list never shows and
 * the next open of the store removes. create_new links the temporary file to the final name,
 * which fails when it exists. */
#include "stores/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

#define TMP_MARK ".sluice-tmp-"

struct sl_store {
	char *root; /* the directory, without a trailing slash */
	char *what;
	unsigned counter;
};

struct sl_store_writer {
	sl_store *s;
	int fd;
	char *tmp, *path;
};

/* Keys are relative paths of non-empty components other than "." and "..". */
static int fs_key_ok(const sl_store *s, const char *key, sl_error *err)
{
	const char *p = key;
	if (*p == 0 || *p == '/')
		goto bad;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			goto bad;
		p += n + (e ? 1 : 0);
	}
	return 0;
bad:
	return sl_error_set(err, SL_ERR_INTERNAL, "%s store: key \"%s\" is not a relative path",
	                    s->what, key);
}

static char *fs_path(const sl_store *s, const char *key)
{
	size_t n = strlen(s->root) + strlen(key) + 2;
	char *p = sl_malloc(n);
	snprintf(p, n, "%s/%s", s->root, key);
	return p;
}

static int fs_errno(const sl_store *s, const char *op, const char *path, int e, sl_error *err)
{
	const char *fix = e == EACCES || e == EPERM ? " (give the user sluice runs as write access)"
	                  : e == ENOSPC             ? " (free space on that filesystem)"
	                                            : "";
	return sl_error_set(err, SL_ERR_IO, "%s store: %s %s: %s%s", s->what, op, path, strerror(e),
	                    fix);
}

/* mkdir -p of the directories above path. */
static int fs_mkdirs(const sl_store *s, const char *path, sl_error *err)
{
	char *d = sl_strdup(path);
	for (char *p = d + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(d, 0755) < 0 && errno != EEXIST) {
			int e = errno;
			int rc = fs_errno(s, "creating directory", d, e, err);
			free(d);
			return rc;
		}
		*p = '/';
	}
	free(d);
	return 0;
}

static int fs_sync_dir(const sl_store *s, const char *path, sl_error *err)
{
	char *d = sl_strdup(path);
	char *slash = strrchr(d, '/');
	if (slash && slash != d)
		*slash = 0;
	int fd = open(d, O_RDONLY | O_DIRECTORY);
	int rc = 0;
	if (fd < 0 || fsync(fd) < 0)
		rc = fs_errno(s, "flushing directory", d, errno, err);
	if (fd >= 0)
		close(fd);
	free(d);
	return rc;
}

/* A temporary file whose writer (the pid in its name) is gone. */
static bool fs_stale_tmp(const char *name)
{
	const char *m = strstr(name, TMP_MARK);
	if (!m)
		return false;
	long pid = strtol(m + strlen(TMP_MARK), NULL, 10);
	return pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* Remove temporary files crashed writers left under dir (not those of running ones: another
 * pipeline may write beside this one). */
static void fs_sweep(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		size_t n = strlen(dir) + strlen(e->d_name) + 2;
		char *p = sl_malloc(n);
		snprintf(p, n, "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			fs_sweep(p);
		else if (fs_stale_tmp(e->d_name))
			unlink(p);
		free(p);
	}
	closedir(d);
}

static int fs_open(const char *url, const char *what, const sl_store_settings *set, sl_store **out,
                   sl_error *err)
{
	(void)set; /* sl_store_open refused the settings a directory has no use for */
	if (strncmp(url, "file://", 7) != 0 || url[7] != '/')
		return sl_error_set(err, SL_ERR_CONFIG,
		                    "%s url '%s' is not a file:// URL with an absolute path (write "
		                    "file:///path/to/dir)",
		                    what, url);
	sl_store *s = sl_calloc(1, sizeof *s);
	s->root = sl_strdup(url + 7);
	s->what = sl_strdup(what);
	size_t n = strlen(s->root);
	while (n > 1 && s->root[n - 1] == '/')
		s->root[--n] = 0;
	char *probe = fs_path(s, "x");
	int rc = fs_mkdirs(s, probe, err);
	free(probe);
	struct stat st;
	if (rc == 0 && (stat(s->root, &st) < 0 || !S_ISDIR(st.st_mode)))
		rc = sl_error_set(err, SL_ERR_CONFIG, "%s url '%s': %s is not a directory", what,
		                  url, s->root);
	if (rc < 0) {
		free(s->root), free(s->what), free(s);
		return rc;
	}
	fs_sweep(s->root);
	*out = s;
	return 0;
}

static void fs_close(sl_store *s)
{
	if (!s)
		return;
	free(s->root);
	free(s->what);
	free(s);
}

static char *fs_tmp_name(sl_store *s, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n = strlen(path) + 64;
	char *t = sl_malloc(n);
	snprintf(t, n, "%.*s/.%s%s%ld-%u", (int)(slash - path), path, slash + 1, TMP_MARK,
	         (long)getpid(), s->counter++);
	return t;
}

static int fs_writer_open(sl_store *s, const char *key, sl_store_writer **out, sl_error *err)
{
	SL_TRY(fs_key_ok(s, key, err));
	sl_store_writer *w = sl_calloc(1, sizeof *w);
	w->s = s;
	w->path = fs_path(s, key);
	w->tmp = fs_tmp_name(s, w->path);
	int rc = fs_mkdirs(s, w->path, err);
	if (rc == 0) {
		w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (w->fd < 0)
			rc = fs_errno(s, "creating", w->tmp, errno, err);
	}
	if (rc < 0) {
		free(w->path), free(w->tmp), free(w);
		return rc;
	}
	*out = w;
	return 0;
}

static int fs_write(sl_store_writer *w, const void *p, size_t n, sl_error *err)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t k = write(w->fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return fs_errno(w->s, "writing", w->tmp, errno, err);
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static void fs_abort(sl_store_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	unlink(w->tmp);
	free(w->path), free(w->tmp), free(w);
}

/* Flush and close the temporary file; then `link` (create_new) or rename it into place. */
static int fs_finish(sl_store_writer *w, bool exclusive, sl_error *err)
{
	sl_store *s = w->s;
	int rc = 0;
	if (fsync(w->fd) < 0)
		rc = fs_errno(s, "flushing", w->tmp, errno, err);
	if (close(w->fd) < 0 && rc == 0)
		rc = fs_errno(s, "closing", w->tmp, errno, err);
	w->fd = -1;
	if (rc == 0 && exclusive) {
		if (link(w->tmp, w->path) < 0)
			rc = errno == EEXIST ? SL_STORE_EXISTS
			                     : fs_errno(s, "creating", w->path, errno, err);
		unlink(w->tmp);
	} else if (rc == 0 && rename(w->tmp, w->path) < 0) {
		rc = fs_errno(s, "renaming into", w->path, errno, err);
	}
	if (rc == 0)
		rc = fs_sync_dir(s, w->path, err);
	fs_abort(w);
	return rc;
}

static int fs_commit(sl_store_writer *w, sl_error *err)
{
	return fs_finish(w, false, err);
}

static int fs_put_(sl_store *s, const char *key, const void *p, size_t n, bool exclusive,
                   sl_error *err)
{
	sl_store_writer *w;
	SL_TRY(fs_writer_open(s, key, &w, err));
	int rc = fs_write(w, p, n, err);
	if (rc < 0) {
		fs_abort(w);
		return rc;
	}
	return fs_finish(w, exclusive, err);
}

static int fs_put(sl_store *s, const char *key, const void *p, size_t n, sl_error *err)
{
	return fs_put_(s, key, p, n, false, err);
}

static int fs_create_new(sl_store *s, const char *key, const void *p, size_t n, sl_error *err)
{
	return fs_put_(s, key, p, n, true, err);
}

static int fs_get_range(sl_store *s, const char *key, int64_t off, void *dst, size_t n,
                        sl_error *err)
{
	SL_TRY(fs_key_ok(s, key, err));
	char *path = fs_path(s, key);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;
	if (fd < 0) {
		rc = errno == ENOENT ? SL_STORE_MISSING : fs_errno(s, "opening", path, errno, err);
		free(path);
		return rc;
	}
	uint8_t *b = dst;
	while (n && rc == 0) {
		ssize_t k = pread(fd, b, n, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			rc = fs_errno(s, "reading", path, errno, err);
		else if (k == 0)
			rc = sl_error_set(err, SL_ERR_IO, "%s store: %s is shorter than expected",
			                  s->what, path);
		else
			b += k, n -= (size_t)k, off += k;
	}
	close(fd);
	free(path);
	return rc;
}

static int fs_size(sl_store *s, const char *key, int64_t *out, sl_error *err)
{
	SL_TRY(fs_key_ok(s, key, err));
	char *path = fs_path(s, key);
	struct stat st;
	int rc = 0;
	if (stat(path, &st) < 0)
		rc = errno == ENOENT ? SL_STORE_MISSING : fs_errno(s, "reading", path, errno, err);
	else
		*out = st.st_size;
	free(path);
	return rc;
}

static int fs_get(sl_store *s, const char *key, sl_buf *out, sl_error *err)
{
	int64_t size = 0;
	int rc = fs_size(s, key, &size, err);
	if (rc != 0)
		return rc;
	sl_buf_reset(out);
	rc = fs_get_range(s, key, 0, sl_buf_reserve(out, (size_t)size + 1), (size_t)size, err);
	if (rc == 0)
		out->len = (size_t)size;
	return rc;
}

static int fs_del(sl_store *s, const char *key, sl_error *err)
{
	SL_TRY(fs_key_ok(s, key, err));
	char *path = fs_path(s, key);
	int rc = 0;
	if (unlink(path) < 0 && errno != ENOENT)
		rc = fs_errno(s, "deleting", path, errno, err);
	free(path);
	return rc;
}

/* Walk dir (the key prefix `rel`, "" at the root), reporting files whose key starts with
 * prefix. */
static int fs_walk(sl_store *s, const char *rel, const char *prefix, sl_store_list_fn fn, void *ctx,
                   sl_error *err)
{
	char *dir = *rel ? fs_path(s, rel) : sl_strdup(s->root);
	DIR *d = opendir(dir);
	if (!d) {
		int e = errno;
		free(dir);
		return e == ENOENT || e == ENOTDIR ? 0 : fs_errno(s, "listing", rel, e, err);
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue; /* ".", "..", and temporary files */
		size_t n = strlen(rel) + strlen(e->d_name) + 2;
		char *key = sl_malloc(n);
		snprintf(key, n, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		size_t kl = strlen(key), pl = strlen(prefix);
		/* descend only where the prefix can still match */
		bool under = strncmp(key, prefix, kl < pl ? kl : pl) == 0;
		char *path = fs_path(s, key);
		struct stat st;
		if (under && stat(path, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				rc = fs_walk(s, key, prefix, fn, ctx, err);
			else if (S_ISREG(st.st_mode) && kl >= pl)
				rc = fn(ctx, &(sl_store_object){.key = key, .size = st.st_size},
				        err);
		}
		free(path);
		free(key);
	}
	closedir(d);
	free(dir);
	return rc;
}

static int fs_list(sl_store *s, const char *prefix, sl_store_list_fn fn, void *ctx, sl_error *err)
{
	return fs_walk(s, "", prefix, fn, ctx, err);
}

static int fs_check(sl_store *s, sl_error *err)
{
	char where[600];
	snprintf(where, sizeof where, "%s store %s", s->what, s->root);
	return sl_store_probe(&sl_file_store_ops, s, where, err);
}

const sl_store_ops sl_file_store_ops = {
        .scheme = "file",
        .open = fs_open,
        .close = fs_close,
        .check = fs_check,
        .put = fs_put,
        .create_new = fs_create_new,
        .get = fs_get,
        .get_range = fs_get_range,
        .size = fs_size,
        .list = fs_list,
        .del = fs_del,
        .writer_open = fs_writer_open,
        .write = fs_write,
        .commit = fs_commit,
        .abort = fs_abort,
};
