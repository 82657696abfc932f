// Package wfeengine writes a wfe engine plugin in Go: implement Engine,
// call Register from an init function of package main, and build with
//
//	CGO_CFLAGS="$(pkg-config --cflags wfe-engine)" go build -buildmode=c-shared -o NAME.so
//
// The package provides the plugin's entry point (wfe_plugin_entry) and its
// descriptors in C (glue.c), and turns each call of the host into a call of
// the Engine, with the input copied into Go memory, the answer appended to
// the host's buffer and an *Error (or any error, or a panic) turned into the
// host's error record. One plugin provides one engine.
package wfeengine

/*
#include <stdlib.h>
#include "glue.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"runtime/cgo"
	"sync/atomic"
	"unsafe"
)

// The status codes of <wfe/engine.h>.
const (
	CodeInvalid     = -1 // the input is invalid (a user error)
	CodeUnsupported = -2 // the engine cannot do this, ever
	CodeNoMem       = -3
	CodeUnavailable = -4 // transient: the host retries
	CodeNotFound    = -5
	CodeInternal    = -6 // a bug
)

// Log levels of the host's log.
const (
	LogError = 0
	LogWarn  = 1
	LogInfo  = 2
	LogDebug = 3
)

// Error is an error record as the host reports it: Code is one of the
// Code constants, Reason a CamelCase word, Field the path of the input the
// error is about ("spec.parameters.X"; may be empty).
type Error struct {
	Code      int32
	Retryable bool
	Reason    string
	Field     string
	Message   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Reason, e.Field, e.Message)
	}
	return e.Reason + ": " + e.Message
}

// Invalid is an *Error with CodeInvalid.
func Invalid(reason, field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Reason: reason, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Engine is what a plugin implements. Every method may be called from many
// threads at once and must not keep its input. Render and Interpret answer
// JSON documents (docs/plugin-abi.md, "The documents"); Cancel a JSON merge
// patch, or an *Error with CodeUnsupported.
type Engine interface {
	Validate(execution []byte) error
	Render(execution []byte) ([]byte, error)
	Interpret(run []byte) ([]byte, error)
	Cancel(run []byte) ([]byte, error)
}

// Descriptor names the plugin, its engine and the engine's run object.
type Descriptor struct {
	PluginName, PluginVersion              string
	EngineName, EngineVersion, Description string
	APIVersion, Kind, Resource             string
	HasStatusSubresource                   bool
}

// Host is the host's service table, for an engine's own use.
type Host struct {
	table  *C.wfe_host
	engine string
}

// Log writes one line (no newline) attributed to the engine.
func (h *Host) Log(level int, message string) {
	name, text := C.CString(h.engine), C.CString(message)
	defer C.free(unsafe.Pointer(name))
	defer C.free(unsafe.Pointer(text))
	C.wfe_go_log(h.table, C.int32_t(level), name, text)
}

// SHA256Hex is the lowercase hex SHA-256 of data (for deterministic names).
func (h *Host) SHA256Hex(data []byte) string {
	var out [65]C.char
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	C.wfe_go_sha256_hex(h.table, p, C.size_t(len(data)), &out[0])
	return C.GoString(&out[0])
}

var registered struct {
	descriptor Descriptor
	create     func(host *Host, config []byte) (Engine, error)
}

// Register makes the plugin's one engine; call it from an init function.
// create gets the engine's configuration as JSON (nil when there is none)
// and refuses a bad one with an *Error naming the key.
func Register(d Descriptor, create func(host *Host, config []byte) (Engine, error)) {
	registered.descriptor, registered.create = d, create
}

type instance struct {
	engine Engine
	host   *Host
}

// The host table of the last create, to report a failure that has no
// instance to go with it.
var lastHost atomic.Pointer[C.wfe_host]

//export wfeGoDescribe
func wfeGoDescribe(out *C.struct_wfe_go_descriptor) {
	d := registered.descriptor
	if registered.create == nil || d.EngineName == "" {
		return // no engine: wfe_plugin_entry answers NULL
	}
	// Allocated once and never freed: the host reads them until unload.
	out.plugin_name, out.plugin_version = C.CString(d.PluginName), C.CString(d.PluginVersion)
	out.engine_name, out.engine_version = C.CString(d.EngineName), C.CString(d.EngineVersion)
	out.description = C.CString(d.Description)
	out.api_version, out.kind, out.resource = C.CString(d.APIVersion), C.CString(d.Kind), C.CString(d.Resource)
	if d.HasStatusSubresource {
		out.has_status_subresource = 1
	}
}

// input copies n bytes at p into Go memory.
func input(p *C.char, n C.size_t) ([]byte, error) {
	if n == 0 || p == nil {
		return nil, nil
	}
	if uint64(n) > math.MaxInt32 {
		return nil, Invalid("InputTooLarge", "", "%d bytes is more than this engine reads", uint64(n))
	}
	return C.GoBytes(unsafe.Pointer(p), C.int(n)), nil
}

// report fills the host's error record from err and returns its code.
func report(table *C.wfe_host, cerr *C.wfe_error, err error) C.int32_t {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: CodeInternal, Reason: "EngineError", Message: err.Error()}
	}
	code := e.Code
	if code >= 0 {
		code = CodeInternal
	}
	if table == nil {
		return C.int32_t(code)
	}
	reason := C.CString(e.Reason)
	defer C.free(unsafe.Pointer(reason))
	var field, message *C.char
	if e.Field != "" {
		field = C.CString(e.Field)
		defer C.free(unsafe.Pointer(field))
	}
	if e.Message != "" {
		message = C.CString(e.Message)
		defer C.free(unsafe.Pointer(message))
	}
	retryable := C.int32_t(0)
	if e.Retryable {
		retryable = 1
	}
	C.wfe_go_error_set(table, cerr, C.int32_t(code), retryable, reason, field, message)
	return C.int32_t(code)
}

// recovered turns a panic of the engine into an Internal error.
func recovered(table *C.wfe_host, cerr *C.wfe_error, rc *C.int32_t) {
	if r := recover(); r != nil {
		*rc = report(table, cerr, &Error{Code: CodeInternal, Reason: "EnginePanicked", Message: fmt.Sprint(r)})
	}
}

//export wfeGoCreate
func wfeGoCreate(table *C.wfe_host, config *C.char, n C.size_t, out *C.uintptr_t, cerr *C.wfe_error) (rc C.int32_t) {
	lastHost.Store(table)
	defer recovered(table, cerr, &rc)
	if registered.create == nil {
		return report(table, cerr, &Error{Code: CodeInternal, Reason: "NoEngine", Message: "wfeengine.Register was not called"})
	}
	raw, err := input(config, n)
	if err != nil {
		return report(table, cerr, err)
	}
	host := &Host{table: table, engine: registered.descriptor.EngineName}
	engine, err := registered.create(host, raw)
	if err != nil {
		return report(table, cerr, err)
	}
	*out = C.uintptr_t(cgo.NewHandle(&instance{engine: engine, host: host}))
	return 0
}

//export wfeGoDestroy
func wfeGoDestroy(handle C.uintptr_t) {
	if handle != 0 {
		cgo.Handle(handle).Delete()
	}
}

//export wfeGoCall
func wfeGoCall(op C.int, handle C.uintptr_t, data *C.char, n C.size_t, out *C.wfe_buf, cerr *C.wfe_error) (rc C.int32_t) {
	table := lastHost.Load()
	defer recovered(table, cerr, &rc)
	inst, ok := cgo.Handle(handle).Value().(*instance)
	if !ok {
		return report(table, cerr, &Error{Code: CodeInternal, Reason: "BadInstance", Message: "not an instance of this engine"})
	}
	table = inst.host.table
	raw, err := input(data, n)
	if err != nil {
		return report(table, cerr, err)
	}
	var answer []byte
	switch op {
	case C.WFE_GO_VALIDATE:
		err = inst.engine.Validate(raw)
	case C.WFE_GO_RENDER:
		answer, err = inst.engine.Render(raw)
	case C.WFE_GO_INTERPRET:
		answer, err = inst.engine.Interpret(raw)
	case C.WFE_GO_CANCEL:
		answer, err = inst.engine.Cancel(raw)
	default:
		err = &Error{Code: CodeInternal, Reason: "UnknownOperation", Message: fmt.Sprintf("operation %d", int(op))}
	}
	if err != nil {
		return report(table, cerr, err)
	}
	if out != nil && len(answer) > 0 &&
		C.wfe_go_buf_append(table, out, (*C.char)(unsafe.Pointer(&answer[0])), C.size_t(len(answer))) != 0 {
		return report(table, cerr, &Error{Code: CodeNoMem, Reason: "OutOfMemory"})
	}
	return 0
}
