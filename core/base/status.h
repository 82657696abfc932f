/*
 * The status codes and log levels of the whole core. They are the engine
 * ABI's own (include/wfe/engine.h), defined here again, token for token, so
 * that the runtime and the basics build without the ABI header: a file that
 * sees both definitions gets a compiler error the day they differ.
 */
#ifndef WFE_BASE_STATUS_H
#define WFE_BASE_STATUS_H

#define WFE_OK 0
/* The input is invalid: a user error that retrying cannot fix. */
#define WFE_E_INVALID (-1)
/* The operation or the requested feature is not implemented. */
#define WFE_E_UNSUPPORTED (-2)
/* Out of memory. */
#define WFE_E_NOMEM (-3)
/* A transient failure (e.g. the API server did not answer); retry later. */
#define WFE_E_UNAVAILABLE (-4)
/* The requested object does not exist. */
#define WFE_E_NOT_FOUND (-5)
/* A bug or an impossible state. */
#define WFE_E_INTERNAL (-6)

#define WFE_LOG_ERROR 0
#define WFE_LOG_WARN 1
#define WFE_LOG_INFO 2
#define WFE_LOG_DEBUG 3

#endif
