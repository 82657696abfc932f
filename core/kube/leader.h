/*
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's
 * leaderelection package does it: create the Lease, or take over one whose
 * holder stopped renewing by an update carrying the observed resourceVersion,
 * then renew it every retry period. There is no fencing in Kubernetes: a
 * leader that cannot renew within the renew deadline must stop writing at
 * once, before a standby may take over (lease duration after it last saw the
 * Lease change). wfe_leader_is_leader() enforces that deadline on a monotonic
 * clock itself, so writers gated on it stop even while the elector's own
 * request hangs. Knows Leases and nothing else.
 *
 * Threads: wfe_leader_start runs an elector thread and a watchdog thread.
 * wfe_leader_is_leader and wfe_leader_identity are thread-safe; the other
 * functions are called from one thread (the main loop).
 */
#ifndef WFE_KUBE_LEADER_H
#define WFE_KUBE_LEADER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct wfe_kube_client;
struct wfe_metrics;
struct wfe_leader;

/* The exit status of a process whose leader lost its lease (default). */
#define WFE_LEADER_EXIT_LOST 1

struct wfe_leader_callbacks {
  /* Called on the elector thread once the lease is ours. Keep it short:
   * renewals wait for it. May be NULL. */
  void (*on_started_leading)(void *ctx);
  /* Called once when leading ends: on the watchdog or elector thread when
   * the lease is lost, on the caller's thread from wfe_leader_release. By
   * then wfe_leader_is_leader() already answers 0. May be NULL. */
  void (*on_stopped_leading)(void *ctx);
  /*
   * The hook for a lost lease (renew deadline passed, or another holder
   * seen). NULL, the default, ends the process with
   * _exit(WFE_LEADER_EXIT_LOST) right after on_stopped_leading: nothing
   * else may write once the lease can no longer be trusted, and atexit
   * handlers must not run while other threads still act. Tests set it to
   * observe the loss instead; the elector then stops (it never tries to
   * lead again).
   */
  void (*on_lost)(void *ctx);
  void *ctx;
};

struct wfe_leader_options {
  const char *namespace_name; /* of the Lease; required */
  const char *name;           /* of the Lease; required */
  /* NULL: "<hostname>_<16 random hex digits>". Copied. */
  const char *identity;
  /* client-go's defaults: 15000, 10000, 2000. Must satisfy
   * lease_duration > renew_deadline > 1.2 * retry_period. */
  long lease_duration_ms;
  long renew_deadline_ms;
  long retry_period_ms;
  /* leader_election_master_status{name} (0/1); NULL for none. */
  struct wfe_metrics *metrics;
};

/*
 * `client` is borrowed and must outlive the elector. Give the elector a
 * client of its own with a request timeout well below the renew deadline
 * (e.g. renew_deadline / 2) and max_retries 0: the elector retries every
 * retry period itself, and a request that hangs longer than that only
 * delays renewals. `callbacks` is copied; NULL for none.
 */
int wfe_leader_new(struct wfe_kube_client *client,
                   const struct wfe_leader_options *options,
                   const struct wfe_leader_callbacks *callbacks,
                   struct wfe_leader **out, struct wfe_error *err);

/* Starts electing in the background. Returns 0, or an error when the
 * threads cannot be started. */
int wfe_leader_start(struct wfe_leader *leader, struct wfe_error *err);

/*
 * Non-zero while this process holds the lease and its last successful
 * renewal is younger than the renew deadline (monotonic clock). Writers
 * check it before every write. Thread-safe, lock-free; NULL gives 0.
 */
int wfe_leader_is_leader(const struct wfe_leader *leader);

/* Same, with the signature of a write gate (writer.h): ctx is the leader. */
int wfe_leader_gate(void *leader);

/* This candidate's identity. Owned by the elector. */
const char *wfe_leader_identity(const struct wfe_leader *leader);

/*
 * Graceful shutdown (SIGTERM): stops electing, stops leading
 * (is_leader turns 0 first), and when the lease is ours hands it back as
 * client-go's ReleaseOnCancel does -- holderIdentity "" and
 * leaseDurationSeconds 1 -- so a standby takes over within about one retry
 * period; then calls on_stopped_leading. Waits for a request in flight (at
 * most the client's request timeout). Idempotent. Returns 0, or the error
 * of the releasing update (the lease then simply expires).
 */
int wfe_leader_release(struct wfe_leader *leader, struct wfe_error *err);

/* Stops the threads (without releasing) and frees. Accepts NULL. */
void wfe_leader_free(struct wfe_leader *leader);

/* --- Pure parts, exposed for unit tests ---------------------------------- */

/* What a candidate may do with a Lease it read. */
enum wfe_lease_verdict {
  WFE_LEASE_OURS,    /* we hold it: renew */
  WFE_LEASE_FREE,    /* no holder (released): acquire */
  WFE_LEASE_EXPIRED, /* the holder stopped renewing: take over */
  WFE_LEASE_HELD,    /* another holder, still valid: wait */
};

/*
 * client-go's rule. Expiry is judged on the candidate's own monotonic clock,
 * never on the Lease's wall-clock renewTime, so clock skew between nodes
 * does not matter: the lease is valid until `observed_ms` (when this
 * candidate last saw the record change) plus the record's own
 * leaseDurationSeconds. `holder` may be NULL or "".
 */
enum wfe_lease_verdict wfe_lease_decide(const char *holder,
                                        const char *identity,
                                        long lease_duration_seconds,
                                        int64_t observed_ms, int64_t now_ms);

/* Lease times are metav1.MicroTime: "2006-01-02T15:04:05.000000Z", UTC. */
#define WFE_MICROTIME_LEN 27 /* without the NUL */

/* Formats microseconds since the epoch; `out` holds at least
 * WFE_MICROTIME_LEN + 1 bytes. Returns 0 or WFE_E_INVALID (out of range). */
int wfe_microtime_format(int64_t unix_us, char *out, size_t size);

/* The wall clock now, in microseconds since the epoch. */
int64_t wfe_microtime_now(void);

/* Parses RFC 3339 ("...Z" or "...+hh:mm", with 0 to 9 fraction digits) into
 * microseconds since the epoch. Returns 0 or WFE_E_INVALID. */
int wfe_microtime_parse(const char *text, int64_t *out);

#endif
