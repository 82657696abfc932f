/*
 * Kubernetes' own rules for names, as apimachinery's util/validation states
 * them, so that the core is never stricter (nor looser) than the API server
 * about a name it admitted.
 */
#ifndef WFE_BASE_NAMES_H
#define WFE_BASE_NAMES_H

/* IsDNS1123Label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
 * Namespaces, label values' length, most run objects' names. */
int wfe_is_dns_label(const char *s);

/* IsDNS1123Subdomain: dot-separated [a-z0-9]([-a-z0-9]*[a-z0-9])? parts, at
 * most 253 characters in all. Each part may be longer than 63: only the
 * whole is bounded. The names of most objects, custom resources among them,
 * and of ServiceAccounts. */
int wfe_is_dns_subdomain(const char *s);

#endif
