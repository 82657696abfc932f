/*
 * The one place where YAML becomes JSON: configuration files, kubeconfigs and
 * resources given to the CLI are read here into json-c objects. JSON input is
 * YAML too, so callers need not tell them apart. Errors name the source and
 * the line and column.
 */
#ifndef WFE_BASE_YAML_READER_H
#define WFE_BASE_YAML_READER_H

#include <stddef.h>

#include <json-c/json.h>

#include "error.h"

/*
 * Parses exactly one YAML document from `text` into a new json-c object
 * (caller puts it). Plain scalars follow the YAML 1.2 core schema (null,
 * true/false, integers, floats); quoted scalars are strings. Anchors and
 * aliases, tags other than the core ones, and duplicate keys are rejected.
 * `source` names the input in errors ("config.yaml"). Returns 0 or
 * WFE_E_INVALID ("source:line:column: problem") / WFE_E_NOMEM.
 */
int wfe_yaml_parse(const char *text, size_t len, const char *source,
                   json_object **out, struct wfe_error *err);

/* Reads and parses a file ("-" is standard input); at most 16 MiB. */
int wfe_yaml_parse_file(const char *path, json_object **out,
                        struct wfe_error *err);

#endif
