/*
 * Linked ahead of musl's libc.a into the router binary by scripts/mipsel-linker (built by
 * scripts/build-mipsel). An object on the link line wins over the archive member of the same name,
 * so musl's version is never pulled in.
 *
 * pthread_setname_np: musl's version formats "/proc/self/task/%d/comm" with snprintf, which drags in
 * printf_core plus the soft-float double routines (~11 KB on mipsel). Rust's std only ever names the
 * calling thread (and truncates the name to 15 bytes itself), which prctl(PR_SET_NAME) does directly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/prctl.h>

int pthread_setname_np(pthread_t thread, const char *name)
{
	if (strnlen(name, 16) > 15)
		return ERANGE;
	if (thread != pthread_self())
		return ENOTSUP;
	return prctl(PR_SET_NAME, (unsigned long)name, 0UL, 0UL, 0UL) ? errno : 0;
}
