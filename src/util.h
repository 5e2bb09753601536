/*
 * util: allocation wrappers that die on out-of-memory, and fatal errors.
 *
 * Like tmux's xmalloc.c: callers never check these for NULL, because a
 * process that cannot allocate a few bytes has nothing sensible left to do.
 * The matching path does not allocate (see book.h), so this never fires
 * mid-fill.
 */
#ifndef KDEX_UTIL_H
#define KDEX_UTIL_H

#include <stdarg.h>
#include <stddef.h>

/* Allocate; never returns NULL. The caller owns the result (free()). */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 xvasprintf(char **, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));

/* Print "kdex: message" (plus strerror(errno) for fatal) and exit(1). */
void	 fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* Constant-time comparison of two buffers; 0 when equal. */
int	 util_memeq_ct(const void *, const void *, size_t);

#endif
