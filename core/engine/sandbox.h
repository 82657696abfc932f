/*
 * The engine host's sandbox, applied to its own process in two steps:
 *
 * wfe_sandbox_prepare, before the plugin is loaded: no new privileges, no
 * capability (effective, permitted, inheritable, ambient, bounding), no
 * core dumps, not dumpable, and a parent-death signal, so even a plugin's
 * constructor runs without them. The uid stays the controller's (which a
 * Deployment runs as non-root), so the plugin file stays readable.
 *
 * wfe_sandbox_limit, once the limits are known: RLIMIT_AS (memory; not
 * under AddressSanitizer, which reserves terabytes of address space),
 * RLIMIT_CPU (CPU seconds; when spent the kernel ends the host and the
 * controller restarts it), no files may be created or written.
 *
 * wfe_sandbox_seal, after the engines are created and the serving threads
 * started: a seccomp filter for every thread that allows only what
 * answering calls needs -- reading the IPC socket (fd 3), writing it and
 * stdout/stderr, memory without PROT_EXEC, futexes, clocks, signals to
 * itself, getrandom, exit. Everything else (open, socket, connect, exec,
 * clone, ptrace, ...) raises SIGSYS: the handler reports the system call by
 * name on stderr and the host dies of it.
 */
#ifndef WFE_ENGINE_SANDBOX_H
#define WFE_ENGINE_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

/* The descriptor of the socket to the controller. */
#define WFE_SANDBOX_IPC_FD 3

/* Each returns 0, or -1 with a reason in `why` (`size` bytes). */
int wfe_sandbox_prepare(char *why, size_t size);
int wfe_sandbox_limit(uint64_t memory_bytes, uint64_t cpu_seconds, char *why,
                      size_t size);
int wfe_sandbox_seal(char *why, size_t size);

/* The call the current thread is running (0: none), for the fault
 * reports of the crash handlers. */
void wfe_sandbox_set_call(uint64_t call_id);

/* Installs the handlers that report a fault (SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL, SIGABRT, SIGSYS) with the current call on stderr, then let the
 * signal end the process. Call once before any thread starts; each thread
 * then calls wfe_sandbox_thread_init for its alternate signal stack. */
int wfe_sandbox_install_fault_handlers(void);
int wfe_sandbox_thread_init(void);

#endif
