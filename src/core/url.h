/* Pieces of connection URLs (scheme://user:password@host:port/...), shared by the sources and
 * targets that take such URLs. */
#ifndef SL_URL_H
#define SL_URL_H

#include <stdbool.h>
#include <stddef.h>

/* Copy [p, end) percent-decoded ("%40" -> "@") into out, NUL-terminated; false when it does not
 * fit in n bytes. */
bool sl_url_unescape(const char *p, const char *end, char *out, size_t n);

/* The authority [p, end) of a URL: [user[:password]@]host[:port], the host possibly a bracketed
 * IPv6 address (kept with its brackets). The parts are percent-decoded into the given buffers;
 * user and password stay as they are when absent, *port too. False when a part does not fit or
 * the port is not 1..65535. The last '@' separates the credentials (a password may hold one). */
bool sl_url_authority(const char *p, const char *end, char *user, size_t nuser, char *password,
                      size_t npassword, char *host, size_t nhost, unsigned *port);

/* Whether the connected socket fd reaches this machine: a Unix socket, 127.0.0.0/8 or ::1
 * (IPv4-mapped too). False when it cannot be told. */
bool sl_fd_is_local(int fd);

#endif
