package main

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

const defsDir = "../../defs"

// tlsRegistry starts go-containerregistry's in-memory registry behind TLS
// and returns its HOST:PORT and a PEM file of its certificate.
func tlsRegistry(t *testing.T) (string, string) {
	t.Helper()
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.crt")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host, ca
}

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(args, &out); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out.String())
	}
	return out.String()
}

func TestDigestsAreDeterministic(t *testing.T) {
	a := runOK(t, "digest", defsDir)
	b := runOK(t, "digest", defsDir)
	if a != b {
		t.Fatalf("two builds differ:\n%s\n%s", a, b)
	}
	if n := strings.Count(a, "\n"); n < 6 {
		t.Fatalf("expected every bundle of %s, got %d lines:\n%s", defsDir, n, a)
	}
}

func TestPushVerifyRoundTrip(t *testing.T) {
	host, ca := tlsRegistry(t)
	env := filepath.Join(t.TempDir(), "bundles.env")
	pushed := runOK(t, "push", "--registry", host, "--ca-file", ca, "--env-file", env, defsDir)
	if offline := runOK(t, "digest", defsDir); pushed != offline {
		t.Fatalf("pushed digests differ from offline ones:\n%s\n%s", pushed, offline)
	}
	// Pushing again changes nothing.
	if again := runOK(t, "push", "--registry", host, "--ca-file", ca, defsDir); again != pushed {
		t.Fatalf("second push differs:\n%s\n%s", pushed, again)
	}
	envText, err := os.ReadFile(env)
	if err != nil {
		t.Fatal(err)
	}
	okDigest := ""
	for _, l := range strings.Split(pushed, "\n") {
		if name, d, _ := strings.Cut(l, " "); name == "ok" {
			okDigest = d
		}
	}
	for _, want := range []string{
		"WFE_BUNDLE_REGISTRY=" + host + "\n",
		"WFE_BUNDLE_OK=" + host + "/wfe/ok@" + okDigest + "\n",
		"WFE_BUNDLE_OK_IMAGE=" + host + "/wfe/ok:v1\n",
		"WFE_BUNDLE_OK_DIGEST=" + okDigest + "\n",
		"WFE_BUNDLE_NO_WORKFLOW=" + host + "/wfe/no-workflow@sha256:",
	} {
		if !strings.Contains(string(envText), want) {
			t.Errorf("bundles.env lacks %q:\n%s", want, envText)
		}
	}
	out := runOK(t, "verify", "--ca-file", ca, "--env-file", env)
	for _, want := range []string{
		"dev.tekton.image.apiVersion=v1 dev.tekton.image.kind=pipeline dev.tekton.image.name=workflow; file \"workflow\"",
		"application/vnd.oci.image.layer.v1.tar+gzip",
		`"wfe.test/exit-code":"2"`,
		`"wfe.test/oom-killed":"true"`,
		`"wfe.test/duration":"30s"`,
		`"wfe.test/image-pull-error":"true"`,
		"dev.tekton.image.kind=task dev.tekton.image.name=build",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q", want)
		}
	}
	// A tag reference verifies too.
	runOK(t, "verify", "--ca-file", ca, host+"/wfe/ok:v1")
}

func TestTLSIsVerified(t *testing.T) {
	host, _ := tlsRegistry(t)
	var out bytes.Buffer
	// No --ca-file: the system roots do not know the test server's certificate.
	t.Setenv("SSL_CERT_FILE", filepath.Join(t.TempDir(), "none.pem"))
	t.Setenv("SSL_CERT_DIR", t.TempDir())
	err := run([]string{"push", "--registry", host, defsDir}, &out)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("push without the CA: want a certificate error, got %v", err)
	}
	if !strings.Contains(err.Error(), "refusing http://") {
		t.Fatalf("the plain HTTP fallback was not refused: %v", err)
	}
}

func TestDefinitionErrors(t *testing.T) {
	pipeline := func(ann string) string {
		return fmt.Sprintf(`name: x
repository: wfe/x
resources:
  - apiVersion: tekton.dev/v1
    kind: Pipeline
    metadata:
      name: workflow
    spec:
      tasks:
        - name: a
          taskSpec:
            metadata:
              annotations:
                %s
            steps: [{name: s, image: i, command: [c]}]
`, ann)
	}
	many := "name: x\nrepository: wfe/x\nresources:\n"
	for i := 0; i <= maxBundleObjects; i++ {
		many += fmt.Sprintf("  - {apiVersion: tekton.dev/v1, kind: Task, metadata: {name: t%d}}\n", i)
	}
	for _, c := range []struct{ name, text, want string }{
		{"unquoted number", pipeline("wfe.test/exit-code: 2"), "must be a string"},
		{"unknown key", "name: x\nrepository: wfe/x\nresource: []\n", "unknown field"},
		{"two documents", "name: x\nrepository: wfe/x\n---\nname: y\n", "one YAML document"},
		{"plural kind", "name: x\nrepository: wfe/x\nresources: [{apiVersion: tekton.dev/v1, kind: Tasks, metadata: {name: a}}]\n", "singular"},
		{"not tekton", "name: x\nrepository: wfe/x\nresources: [{apiVersion: v1, kind: ConfigMap, metadata: {name: a}}]\n", "tekton.dev"},
		{"duplicate", "name: x\nrepository: wfe/x\nresources: [{apiVersion: tekton.dev/v1, kind: Task, metadata: {name: a}}, {apiVersion: tekton.dev/v1, kind: Task, metadata: {name: a}}]\n", "unique"},
		{"too many", many, "1 to 20"},
		{"bad name", "name: X_1\nrepository: wfe/x\nresources: [{apiVersion: tekton.dev/v1, kind: Task, metadata: {name: a}}]\n", "DNS label"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err := run([]string{"digest", dir}, &out)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
		})
	}
	// The valid form of the first case passes.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(pipeline(`wfe.test/exit-code: "2"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	runOK(t, "digest", dir)
}

func TestUsage(t *testing.T) {
	var ue usageError
	for _, args := range [][]string{nil, {"nope"}, {"push", defsDir}, {"digest"}, {"verify"}, {"push", "--registry", "https://h:1", defsDir}} {
		err := run(args, &bytes.Buffer{})
		if err == nil || !asUsage(err, &ue) {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
}

func asUsage(err error, ue *usageError) bool {
	u, ok := err.(usageError)
	if ok {
		*ue = u
	}
	return ok
}
