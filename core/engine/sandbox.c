/* The engine host's sandbox; see sandbox.h. */
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#if defined(__SANITIZE_ADDRESS__)
#define WFE_SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WFE_SANDBOX_ASAN 1
#endif
#endif

#define SYSCALL_NAMES 512

static _Thread_local uint64_t current_call;
/* Names of system calls, resolved before sealing: the SIGSYS handler may
 * not allocate. */
static char *syscall_names[SYSCALL_NAMES];

void wfe_sandbox_set_call(uint64_t call_id)
{
  current_call = call_id;
}

/* ---- fault reports ---------------------------------------------------------
 * Async-signal-safe: fixed buffers, write(2), no stdio. */

static size_t put_str(char *out, size_t at, size_t size, const char *s)
{
  while (*s && at + 1 < size)
    out[at++] = *s++;
  return at;
}

static size_t put_u64(char *out, size_t at, size_t size, uint64_t v)
{
  char digits[24];
  size_t n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n && at + 1 < size)
    out[at++] = digits[--n];
  return at;
}

static void on_fault(int sig, siginfo_t *info, void *context)
{
  (void)context;
  char line[160];
  size_t at = put_str(line, 0, sizeof(line), "wfe-engine-host: fault call=");
  at = put_u64(line, at, sizeof(line), current_call);
  at = put_str(line, at, sizeof(line), " signal=");
  at = put_u64(line, at, sizeof(line), (uint64_t)sig);
  if (sig == SIGSYS && info) {
    int nr = info->si_syscall;
    at = put_str(line, at, sizeof(line), " syscall=");
    if (nr >= 0 && nr < SYSCALL_NAMES && syscall_names[nr])
      at = put_str(line, at, sizeof(line), syscall_names[nr]);
    else
      at = put_u64(line, at, sizeof(line), (uint64_t)nr);
  }
  line[at++] = '\n';
  ssize_t ignored = write(2, line, at);
  (void)ignored;
  /* Die of the signal itself, so the controller sees which. */
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  raise(sig);
  _exit(128 + sig);
}

int wfe_sandbox_install_fault_handlers(void)
{
  static const int signals[] = {SIGSEGV, SIGBUS,  SIGFPE,
                                SIGILL,  SIGABRT, SIGSYS};
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
    if (sigaction(signals[i], &sa, NULL))
      return -1;
  return wfe_sandbox_thread_init();
}

int wfe_sandbox_thread_init(void)
{
  /* A stack of its own, so a stack overflow is still reported. */
  size_t size = 64 * 1024;
  void *stack = mmap(NULL, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (stack == MAP_FAILED)
    return -1;
  stack_t ss = {.ss_sp = stack, .ss_flags = 0, .ss_size = size};
  return sigaltstack(&ss, NULL);
}

/* ---- before loading --------------------------------------------------------
 */

int wfe_sandbox_prepare(char *why, size_t size)
{
  /* Die with the controller, whatever else happens. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1) {
    snprintf(why, size, "the controller is gone");
    return -1;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
    snprintf(why, size, "cannot set no_new_privs: %s", strerror(errno));
    return -1;
  }
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none);
  /* No capability, whoever we run as: none to use, none to regain. The
   * bounding set first (dropping it needs CAP_SETPCAP), then the rest. */
  for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof(data));
  if (syscall(SYS_capset, &header, data)) {
    snprintf(why, size, "cannot drop capabilities: %s", strerror(errno));
    return -1;
  }
  if (prctl(PR_SET_DUMPABLE, 0)) {
    snprintf(why, size, "cannot clear dumpable: %s", strerror(errno));
    return -1;
  }
  return 0;
}

int wfe_sandbox_limit(uint64_t memory_bytes, uint64_t cpu_seconds, char *why,
                      size_t size)
{
#ifndef WFE_SANDBOX_ASAN
  if (memory_bytes) {
    struct rlimit as = {memory_bytes, memory_bytes};
    if (setrlimit(RLIMIT_AS, &as)) {
      snprintf(why, size, "cannot limit memory to %llu bytes: %s",
               (unsigned long long)memory_bytes, strerror(errno));
      return -1;
    }
  }
#else
  (void)memory_bytes;
#endif
  if (cpu_seconds) {
    struct rlimit cpu = {cpu_seconds, cpu_seconds + 1};
    if (setrlimit(RLIMIT_CPU, &cpu)) {
      snprintf(why, size, "cannot limit CPU time to %llu s: %s",
               (unsigned long long)cpu_seconds, strerror(errno));
      return -1;
    }
  }
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_FSIZE, &none);
  return 0;
}

/* ---- the filter ------------------------------------------------------------
 */

static int allow(scmp_filter_ctx ctx, int nr)
{
  return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

static int allow_fd(scmp_filter_ctx ctx, int nr, int fd)
{
  return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                          SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fd));
}

/* Memory, never executable: no code arrives after loading. */
static int allow_no_exec(scmp_filter_ctx ctx, int nr)
{
  return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                          SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
}

/* What a language runtime in the plugin needs once the host is sealed (Go's
 * starts threads as it likes and waits on an epoll set for its timers):
 * threads of this process (clone with CLONE_THREAD, never a new process;
 * clone3, whose flags a filter cannot read, answers ENOSYS, so glibc falls
 * back to clone), what a new thread sets up, and epoll and eventfd
 * descriptors, which reach nothing outside the process. Every thread keeps
 * this filter and shares the host's memory and CPU limits. */
static int add_runtime_rules(scmp_filter_ctx ctx, int last_fd)
{
  static const int plain[] = {
      SCMP_SYS(set_robust_list), SCMP_SYS(rseq),       SCMP_SYS(epoll_create1),
      SCMP_SYS(epoll_ctl),       SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
      SCMP_SYS(eventfd2),
  };
  int rc = 0;
  for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]) && !rc; i++)
    rc = allow(ctx, plain[i]);
  if (!rc)
    rc = seccomp_rule_add(
        ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
        SCMP_A0(SCMP_CMP_MASKED_EQ, (scmp_datum_t)CLONE_THREAD, CLONE_THREAD));
  if (!rc)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  /* Reading and writing those descriptors (an eventfd wakes an epoll
   * wait): only descriptors made after sealing, which nothing but
   * epoll_create1 and eventfd2 can make. */
  for (int i = 0; i < 2 && !rc; i++)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
                          i ? SCMP_SYS(write) : SCMP_SYS(read), 1,
                          SCMP_A0(SCMP_CMP_GT, (scmp_datum_t)last_fd));
  if (!rc)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(close), 1,
                          SCMP_A0(SCMP_CMP_GT, (scmp_datum_t)last_fd));
  return rc;
}

/* The highest descriptor open now (before sealing). */
static int highest_open_fd(void)
{
  int last = 2;
  DIR *dir = opendir("/proc/self/fd");
  if (dir) {
    struct dirent *entry;
    int own = dirfd(dir); /* closed below, free again after sealing */
    while ((entry = readdir(dir))) {
      int fd = atoi(entry->d_name);
      if (entry->d_name[0] != '.' && fd != own && fd > last)
        last = fd;
    }
    closedir(dir);
    return last;
  }
  for (int fd = 3; fd < 4096; fd++)
    if (fcntl(fd, F_GETFD) != -1)
      last = fd;
  return last;
}

static int add_rules(scmp_filter_ctx ctx, int last_fd)
{
  static const int plain[] = {
      SCMP_SYS(munmap),
      SCMP_SYS(mremap),
      SCMP_SYS(madvise),
      SCMP_SYS(brk),
      SCMP_SYS(futex),
      SCMP_SYS(sched_yield),
      SCMP_SYS(nanosleep),
      SCMP_SYS(clock_nanosleep),
      SCMP_SYS(clock_gettime),
      SCMP_SYS(clock_getres),
      SCMP_SYS(gettimeofday),
      SCMP_SYS(getpid),
      SCMP_SYS(gettid),
      SCMP_SYS(getrandom),
      SCMP_SYS(rt_sigaction),
      SCMP_SYS(rt_sigprocmask),
      SCMP_SYS(rt_sigreturn),
      SCMP_SYS(sigaltstack),
      SCMP_SYS(exit),
      SCMP_SYS(exit_group),
      SCMP_SYS(restart_syscall),
      SCMP_SYS(sched_getaffinity),
      SCMP_SYS(getuid),
      SCMP_SYS(geteuid),
      SCMP_SYS(getgid),
      SCMP_SYS(getegid),
  };
  int rc = 0;
  for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]) && !rc; i++)
    rc = allow(ctx, plain[i]);
  if (!rc)
    rc = allow_no_exec(ctx, SCMP_SYS(mmap));
  if (!rc)
    rc = allow_no_exec(ctx, SCMP_SYS(mprotect));
  if (!rc)
    rc = allow_fd(ctx, SCMP_SYS(read), WFE_SANDBOX_IPC_FD);
  for (int fd = 1; fd <= WFE_SANDBOX_IPC_FD && !rc; fd++)
    if (fd != 0)
      rc = allow_fd(ctx, SCMP_SYS(write), fd);
  /* raise() in the fault handlers, and a runtime's preemption signals
   * between its threads: signals to this process only. */
  if (!rc)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                          SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
  if (!rc)
    rc = add_runtime_rules(ctx, last_fd);
  return rc;
}

int wfe_sandbox_seal(char *why, size_t size)
{
  for (int nr = 0; nr < SYSCALL_NAMES; nr++)
    syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
  int last_fd = highest_open_fd();
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
  if (!ctx) {
    snprintf(why, size, "cannot make a seccomp filter");
    return -1;
  }
  int rc = add_rules(ctx, last_fd);
  /* Every thread, those already serving included. */
  if (!rc)
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
  if (!rc)
    rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc) {
    snprintf(why, size, "cannot apply the seccomp filter: %s", strerror(-rc));
    return -1;
  }
  return 0;
}
