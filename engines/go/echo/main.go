// The echo engine, in Go: the example of engines/go/README.md, built with
// -buildmode=c-shared. Its run object is a ConfigMap holding the
// execution's workflow and parameters; the run's state is the value of
// data.phase (or the configured key), which whoever carries the run out
// sets: "" runs, Succeeded, Failed (with data.message), TimedOut, and
// Cancelled (what cancel writes). The same engine exists in Rust
// (engines/rust) and in C (the engine template, engines/template); all three
// answer the conformance vectors of engines/template/conformance.
package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"

	wfe "wfe/engines/go/wfeengine"
)

func init() {
	wfe.Register(wfe.Descriptor{
		PluginName: "echo-go", PluginVersion: "1.0.0",
		EngineName: "echo-go", EngineVersion: "1.0.0",
		Description: "Example engine in Go: the run is a ConfigMap whose data.phase tells its state",
		APIVersion:  "v1", Kind: "ConfigMap", Resource: "configmaps",
	}, newEcho)
}

func main() {}

type echo struct {
	host     *wfe.Host
	phaseKey string
}

var dataKey = regexp.MustCompile(`^[-._a-zA-Z0-9]{1,253}$`)

func newEcho(host *wfe.Host, config []byte) (wfe.Engine, error) {
	e := &echo{host: host, phaseKey: "phase"}
	if len(config) == 0 {
		return e, nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(config, &keys); err != nil {
		return nil, wfe.Invalid("InvalidConfig", "", "the configuration is not a JSON object: %v", err)
	}
	for key, value := range keys {
		if key != "phaseKey" {
			return nil, wfe.Invalid("UnknownConfigKey", key, "unknown configuration key %q (known: phaseKey)", key)
		}
		if err := json.Unmarshal(value, &e.phaseKey); err != nil || !dataKey.MatchString(e.phaseKey) {
			return nil, wfe.Invalid("InvalidConfig", key, "phaseKey must be a ConfigMap data key ([-._a-zA-Z0-9], 1 to 253)")
		}
	}
	return e, nil
}

// The members of a WorkflowExecution the engine reads.
type execution struct {
	Metadata struct {
		Name      *string `json:"name"`
		Namespace *string `json:"namespace"`
		UID       *string `json:"uid"`
	} `json:"metadata"`
	Spec struct {
		WorkflowRef struct {
			WorkflowID *string `json:"workflowId"`
		} `json:"workflowRef"`
		Parameters map[string]json.RawMessage `json:"parameters"`
	} `json:"spec"`
}

// isObject: raw is a JSON object (Unmarshal takes null for an empty one).
func isObject(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

func read(raw []byte) (*execution, map[string]string, error) {
	var x execution
	if !isObject(raw) {
		return nil, nil, wfe.Invalid("MalformedExecution", "", "the WorkflowExecution is not a JSON object")
	}
	if err := json.Unmarshal(raw, &x); err != nil {
		return nil, nil, wfe.Invalid("MalformedExecution", "", "the WorkflowExecution is not JSON of its type: %v", err)
	}
	required := []struct {
		field string
		value *string
	}{
		{"metadata.name", x.Metadata.Name}, {"metadata.namespace", x.Metadata.Namespace},
		{"spec.workflowRef.workflowId", x.Spec.WorkflowRef.WorkflowID},
	}
	for _, r := range required {
		if r.value == nil || *r.value == "" {
			return nil, nil, wfe.Invalid("MissingField", r.field, "%s is required", r.field)
		}
	}
	params := make(map[string]string, len(x.Spec.Parameters))
	for name, value := range x.Spec.Parameters {
		field := "spec.parameters." + name
		if !dataKey.MatchString("param." + name) {
			return nil, nil, wfe.Invalid("InvalidParameterName", field, "a parameter name must be a ConfigMap data key after \"param.\"")
		}
		var s string
		if err := json.Unmarshal(value, &s); err != nil {
			return nil, nil, wfe.Invalid("InvalidParameter", field, "%s must be a string", field)
		}
		params[name] = s
	}
	return &x, params, nil
}

func (e *echo) Validate(raw []byte) error {
	_, _, err := read(raw)
	return err
}

// runName: the execution's name as a DNS label, cut to leave room for ten
// hex digits of the SHA-256 of namespace/name/uid.
func (e *echo) runName(x *execution) string {
	base := strings.ReplaceAll(strings.ToLower(*x.Metadata.Name), ".", "-")
	if len(base) > 52 {
		base = base[:52]
	}
	base = strings.TrimRight(base, "-")
	uid := "" // a file rendered offline has none yet
	if x.Metadata.UID != nil {
		uid = *x.Metadata.UID
	}
	id := *x.Metadata.Namespace + "/" + *x.Metadata.Name + "/" + uid
	return base + "-" + e.host.SHA256Hex([]byte(id))[:10]
}

func (e *echo) Render(raw []byte) ([]byte, error) {
	x, params, err := read(raw)
	if err != nil {
		return nil, err
	}
	data := map[string]string{"workflowId": *x.Spec.WorkflowRef.WorkflowID, e.phaseKey: ""}
	for name, value := range params {
		data["param."+name] = value
	}
	return json.Marshal(map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata":   map[string]string{"name": e.runName(x), "namespace": *x.Metadata.Namespace},
		"data":       data,
	})
}

func (e *echo) Interpret(raw []byte) ([]byte, error) {
	var run struct {
		Data json.RawMessage `json:"data"`
	}
	if !isObject(raw) {
		return nil, wfe.Invalid("MalformedRun", "", "the ConfigMap is not a JSON object")
	}
	if err := json.Unmarshal(raw, &run); err != nil {
		return nil, wfe.Invalid("MalformedRun", "", "the ConfigMap is not JSON of its type: %v", err)
	}
	var data map[string]string
	if len(run.Data) > 0 {
		if err := json.Unmarshal(run.Data, &data); err != nil {
			return nil, wfe.Invalid("MalformedRun", "data", "data must map keys to strings")
		}
	}
	phase, message := data[e.phaseKey], data["message"]
	var doc map[string]string
	switch phase {
	case "":
		doc = map[string]string{"phase": "Running", "reason": "Waiting", "message": "waiting for data." + e.phaseKey}
	case "Succeeded":
		doc = map[string]string{"phase": "Completed", "outcome": "Success", "reason": "Succeeded"}
	case "Failed", "Cancelled":
		doc = map[string]string{"phase": "Failed", "outcome": "Failed", "reason": phase}
	case "TimedOut":
		doc = map[string]string{"phase": "Failed", "outcome": "Timeout", "reason": "TimedOut"}
	default:
		doc = map[string]string{"phase": "Running", "reason": "UnknownPhase", "message": "data." + e.phaseKey + " is " + phase}
	}
	if message != "" && doc["phase"] == "Failed" {
		doc["message"] = message
	}
	return json.Marshal(doc)
}

func (e *echo) Cancel(raw []byte) ([]byte, error) {
	return json.Marshal(map[string]any{"data": map[string]string{e.phaseKey: "Cancelled"}})
}
