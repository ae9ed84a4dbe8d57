/* URL pieces (see url.h). */
#include "core/url.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

static int sl_url_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool sl_url_unescape(const char *p, const char *end, char *out, size_t n)
{
	size_t k = 0;
	while (p < end) {
		int c = (unsigned char)*p++;
		if (c == '%' && end - p >= 2 && sl_url_hex(p[0]) >= 0 && sl_url_hex(p[1]) >= 0) {
			c = sl_url_hex(p[0]) * 16 + sl_url_hex(p[1]);
			p += 2;
		}
		if (k + 1 >= n)
			return false;
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return true;
}

bool sl_url_authority(const char *p, const char *end, char *user, size_t nuser, char *password,
                      size_t npassword, char *host, size_t nhost, unsigned *port)
{
	const char *at = NULL;
	for (const char *s = p; s < end; s++)
		if (*s == '@')
			at = s;
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (!sl_url_unescape(p, colon ? colon : at, user, nuser) ||
		    (colon && !sl_url_unescape(colon + 1, at, password, npassword)))
			return false;
		p = at + 1;
	}
	size_t rest = end > p ? (size_t)(end - p) : 0;
	const char *colon = rest ? memchr(p, ':', rest) : NULL;
	if (rest && p[0] == '[') { /* [v6]:port */
		const char *rb = memchr(p, ']', rest);
		if (rb == NULL)
			return false;
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
	}
	if (!sl_url_unescape(p, colon ? colon : end, host, nhost))
		return false;
	if (colon) {
		long v = 0;
		const char *s = colon + 1;
		if (s == end)
			return false;
		for (; s < end; s++) {
			if (*s < '0' || *s > '9' || v > 65535)
				return false;
			v = v * 10 + (*s - '0');
		}
		if (v <= 0 || v > 65535)
			return false;
		*port = (unsigned)v;
	}
	return true;
}

bool sl_fd_is_local(int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&sa, &len) != 0)
		return false;
	if (sa.ss_family == AF_UNIX)
		return true;
	if (sa.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa.ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)&sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}
