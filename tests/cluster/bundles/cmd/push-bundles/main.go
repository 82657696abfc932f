// Command push-bundles builds Tekton bundles from bundle definitions and
// pushes them to an OCI registry over verified TLS; it also reads bundles
// back and checks them against Tekton's bundle contract.
//
//	push-bundles push --registry HOST:PORT [--ca-file FILE] [--env-file FILE] DEFDIR
//	push-bundles digest DEFDIR
//	push-bundles verify [--ca-file FILE] [--print] (--env-file FILE | REF...)
//
// push builds every bundle of DEFDIR (*.yaml, one bundle per file, in file
// name order), pushes it as HOST:PORT/REPOSITORY:TAG, checks that the
// registry serves the digest it computed, and prints one "NAME DIGEST" line
// per bundle. With --env-file it also writes KEY=VALUE lines (see envLines).
// digest prints the same lines without any registry: a bundle's digest
// depends only on its definition, never on the registry or the time.
// verify pulls bundles back, checks them and lists their layers.
//
// TLS is always verified: against the certificates of --ca-file when given,
// else against the system roots (which honour SSL_CERT_FILE). Plain HTTP is
// refused, even on loopback where go-containerregistry would otherwise fall
// back to it. No credentials are sent.
//
// Exit status: 0 done, 1 failure, 2 usage error.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"sigs.k8s.io/yaml"
)

// Tekton's bundle contract (github.com/tektoncd/pipeline, pkg/remote/oci and
// pkg/resolution/resolver/bundle): one resource per layer, each layer a tar
// holding one file with the resource's YAML or JSON, annotated with these
// three keys; at most 20 layers; the kind lowercase and singular.
const (
	annotationAPIVersion = "dev.tekton.image.apiVersion"
	annotationKind       = "dev.tekton.image.kind"
	annotationName       = "dev.tekton.image.name"
	maxBundleObjects     = 20
)

const usageText = `usage:
  push-bundles push --registry HOST:PORT [--ca-file FILE] [--env-file FILE] [--env-prefix P] [--timeout D] DEFDIR
  push-bundles digest DEFDIR
  push-bundles verify [--ca-file FILE] [--print] [--timeout D] (--env-file FILE [--env-prefix P] | REF...)
`

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	err := run(os.Args[1:], os.Stdout)
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "push-bundles: %s\n%s", ue.msg, usageText)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "push-bundles: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return usageError{"no command"}
	}
	switch args[0] {
	case "push":
		return cmdPush(args[1:], out)
	case "digest":
		return cmdDigest(args[1:], out)
	case "verify":
		return cmdVerify(args[1:], out)
	case "-h", "--help", "help":
		fmt.Fprint(out, usageText)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

func newFlags(cmd string) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Sprintf("%s: %v", fs.Name(), err)}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Bundle definitions.

// definition is one bundle definition file.
type definition struct {
	// Name identifies the bundle: a DNS label; it names the env variables.
	Name string `json:"name"`
	// Repository is the image repository under the registry, e.g. wfe/ok.
	Repository string `json:"repository"`
	// Tag is pushed along with the digest; default "latest".
	Tag string `json:"tag"`
	// Description is free text, for people only.
	Description string `json:"description"`
	// Resources are the Tekton objects, one layer each, in this order.
	Resources []map[string]any `json:"resources"`

	file string
}

var (
	reLabel   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	reSubdom  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	reDocSep  = regexp.MustCompile(`(?m)^---[ \t]*$`)
	reKindStr = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
)

// loadDefinitions reads every *.yaml and *.yml file of dir, in name order.
func loadDefinitions(dir string) ([]*definition, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var defs []*definition
	names := map[string]string{}
	repos := map[string]string{}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		d, err := loadDefinition(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if other, dup := names[d.Name]; dup {
			return nil, fmt.Errorf("%s: bundle name %q already used by %s", d.file, d.Name, other)
		}
		if other, dup := repos[d.Repository+":"+d.Tag]; dup {
			return nil, fmt.Errorf("%s: %s:%s already used by %s", d.file, d.Repository, d.Tag, other)
		}
		names[d.Name], repos[d.Repository+":"+d.Tag] = d.file, d.file
		defs = append(defs, d)
	}
	if len(defs) == 0 {
		return nil, fmt.Errorf("%s: no bundle definition (*.yaml)", dir)
	}
	sort.Slice(defs, func(i, j int) bool { return defs[i].file < defs[j].file })
	return defs, nil
}

func loadDefinition(file string) (*definition, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	// The YAML decoder reads the first document only: refuse more, rather
	// than silently drop resources.
	if seps := reDocSep.FindAllIndex(data, -1); len(seps) > 1 ||
		(len(seps) == 1 && strings.TrimSpace(stripComments(string(data[:seps[0][0]]))) != "") {
		return nil, fmt.Errorf("%s: one YAML document per file (one bundle); list the resources under resources:", file)
	}
	d := &definition{file: file}
	// UseNumber keeps numbers exactly as written when re-serialised.
	if err := yaml.UnmarshalStrict(data, d, func(dec *json.Decoder) *json.Decoder { dec.UseNumber(); return dec }); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if d.Tag == "" {
		d.Tag = "latest"
	}
	if err := d.validate(); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	return d, nil
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(l)
		}
	}
	return b.String()
}

func (d *definition) validate() error {
	if !reLabel.MatchString(d.Name) || len(d.Name) > 63 {
		return fmt.Errorf("name %q is not a DNS label", d.Name)
	}
	if _, err := name.NewRepository("registry.invalid/"+d.Repository, name.StrictValidation); err != nil || d.Repository == "" {
		return fmt.Errorf("repository %q is not a valid repository path", d.Repository)
	}
	if _, err := name.NewTag("registry.invalid/repo:"+d.Tag, name.StrictValidation); err != nil {
		return fmt.Errorf("tag %q is not a valid tag", d.Tag)
	}
	if len(d.Resources) == 0 || len(d.Resources) > maxBundleObjects {
		return fmt.Errorf("%d resources: a bundle holds 1 to %d", len(d.Resources), maxBundleObjects)
	}
	seen := map[string]int{}
	for i, r := range d.Resources {
		id, err := identify(r)
		if err != nil {
			return fmt.Errorf("resources[%d]: %v", i, err)
		}
		key := id.kind + "/" + id.name
		if j, dup := seen[key]; dup {
			return fmt.Errorf("resources[%d]: %s %q already in resources[%d] (kind and name must be unique in a bundle)", i, id.Kind, id.name, j)
		}
		seen[key] = i
		if err := checkMetadataMaps(r, fmt.Sprintf("resources[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

// identity is what the layer annotations say about a resource.
type identity struct {
	Kind       string // as written, e.g. Pipeline
	kind       string // annotation: lowercase, e.g. pipeline
	apiVersion string // annotation: the version, e.g. v1
	name       string
}

func identify(r map[string]any) (identity, error) {
	apiVersion, _ := r["apiVersion"].(string)
	kind, _ := r["kind"].(string)
	meta, _ := r["metadata"].(map[string]any)
	objName, _ := meta["name"].(string)
	group, version, ok := strings.Cut(apiVersion, "/")
	if !ok || group != "tekton.dev" || version == "" {
		return identity{}, fmt.Errorf("apiVersion %q: want tekton.dev/VERSION", apiVersion)
	}
	if !reKindStr.MatchString(kind) || strings.HasSuffix(strings.ToLower(kind), "s") {
		// Tekton refuses a kind annotation that ends in "s" (it must be singular).
		return identity{}, fmt.Errorf("kind %q: want a singular kind such as Task or Pipeline", kind)
	}
	if !reSubdom.MatchString(objName) || len(objName) > 253 {
		return identity{}, fmt.Errorf("metadata.name %q is not a DNS subdomain", objName)
	}
	// The apiVersion annotation holds the version alone, as tkn and
	// Tekton's own test helpers write it; Tekton requires it but never reads it.
	return identity{Kind: kind, kind: strings.ToLower(kind), apiVersion: version, name: objName}, nil
}

// checkMetadataMaps walks v and fails on a labels or annotations map that
// holds a non-string value (e.g. an unquoted number): Kubernetes would
// refuse the resource once Tekton decodes it.
func checkMetadataMaps(v any, path string) error {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			p := path + "." + k
			if m, ok := c.(map[string]any); ok && (k == "labels" || k == "annotations") {
				for mk, mv := range m {
					if _, ok := mv.(string); !ok {
						return fmt.Errorf("%s[%q]: value must be a string (quote it)", p, mk)
					}
				}
			}
			if err := checkMetadataMaps(c, p); err != nil {
				return err
			}
		}
	case []any:
		for i, c := range t {
			if err := checkMetadataMaps(c, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Building a bundle image.

// epoch is the modification time of every file in every layer.
var epoch = time.Unix(0, 0).UTC()

// build makes the bundle image of d. Every byte is a function of the
// definition: fixed tar headers, gzip without name or time, the config's
// timestamps left at their zero value, no random anything.
// buildDigest builds the bundle of d and computes its digest.
func buildDigest(d *definition) (v1.Image, v1.Hash, error) {
	img, err := build(d)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("%s: %v", d.file, err)
	}
	h, err := img.Digest()
	return img, h, err
}

func build(d *definition) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	adds := make([]mutate.Addendum, 0, len(d.Resources))
	for _, r := range d.Resources {
		id, err := identify(r)
		if err != nil {
			return nil, err
		}
		content, err := yaml.Marshal(r) // map keys sorted: canonical
		if err != nil {
			return nil, fmt.Errorf("%s %s: %v", id.Kind, id.name, err)
		}
		layer, err := newLayer(id.name, content)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %v", id.Kind, id.name, err)
		}
		adds = append(adds, mutate.Addendum{
			Layer:     layer,
			MediaType: types.OCILayer,
			Annotations: map[string]string{
				annotationAPIVersion: id.apiVersion,
				annotationKind:       id.kind,
				annotationName:       id.name,
			},
			History: v1.History{CreatedBy: "push-bundles: " + id.Kind + " " + id.name},
		})
	}
	return mutate.Append(img, adds...)
}

// newLayer returns a gzip-compressed tar holding one regular file, named
// after the resource as tkn names it, with content.
func newLayer(file string, content []byte) (v1.Layer, error) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg,
		Name:     file,
		Mode:     0o600,
		Size:     int64(len(content)),
		ModTime:  epoch,
		Format:   tar.FormatUSTAR,
	}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(content); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	var gzBuf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gzBuf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	// The gzip header keeps its zero ModTime and empty Name.
	if _, err := zw.Write(tarBuf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	compressed := gzBuf.Bytes()
	// Handed over already compressed: go-containerregistry stores these
	// exact bytes rather than compressing again.
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// ---------------------------------------------------------------------------
// Registry access.

// httpsOnly refuses any request that is not HTTPS: go-containerregistry
// tries plain HTTP too for loopback and private addresses.
type httpsOnly struct{ next http.RoundTripper }

func (t httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return nil, fmt.Errorf("refusing %s://%s: only HTTPS with a verified certificate is used", req.URL.Scheme, req.URL.Host)
	}
	return t.next.RoundTrip(req)
}

func newTransport(caFile string) (http.RoundTripper, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate found", caFile)
		}
		cfg.RootCAs = pool
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	t.Proxy = nil // the registry is on loopback
	return httpsOnly{t}, nil
}

// remoteSession gives the options of every registry call of one command:
// the transport trusting caFile, and a context that ends after timeout (call
// cancel when done).
func remoteSession(caFile string, timeout time.Duration) (opts []remote.Option, cancel context.CancelFunc, err error) {
	tr, err := newTransport(caFile)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	// No WithAuth/WithAuthFromKeychain: anonymous, no credential file is read.
	return []remote.Option{remote.WithContext(ctx), remote.WithTransport(tr), remote.WithUserAgent("wfe-push-bundles")}, cancel, nil
}

// ---------------------------------------------------------------------------
// Commands.

func cmdDigest(args []string, out io.Writer) error {
	fs := newFlags("digest")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"digest: want exactly one DEFDIR"}
	}
	defs, err := loadDefinitions(fs.Arg(0))
	if err != nil {
		return err
	}
	for _, d := range defs {
		_, h, err := buildDigest(d)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s %s\n", d.Name, h)
	}
	return nil
}

type pushed struct {
	def    *definition
	digest v1.Hash
	repo   name.Repository
}

func cmdPush(args []string, out io.Writer) error {
	fs := newFlags("push")
	registry := fs.String("registry", "", "HOST:PORT of the registry (required)")
	caFile := fs.String("ca-file", "", "PEM file of the CA(s) that the registry's certificate must chain to")
	envFile := fs.String("env-file", "", "write KEY=VALUE lines describing the pushed bundles to this file")
	envPrefix := fs.String("env-prefix", "WFE_BUNDLE_", "prefix of the variables of --env-file")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"push: want exactly one DEFDIR"}
	}
	if *registry == "" || strings.Contains(*registry, "/") {
		return usageError{"push: --registry HOST:PORT is required (no scheme, no path)"}
	}
	reg, err := name.NewRegistry(*registry, name.StrictValidation)
	if err != nil {
		return usageError{fmt.Sprintf("push: --registry: %v", err)}
	}
	defs, err := loadDefinitions(fs.Arg(0))
	if err != nil {
		return err
	}
	opts, cancel, err := remoteSession(*caFile, *timeout)
	if err != nil {
		return err
	}
	defer cancel()

	var done []pushed
	for _, d := range defs {
		img, h, err := buildDigest(d)
		if err != nil {
			return err
		}
		repo := reg.Repo(strings.Split(d.Repository, "/")...)
		tag := repo.Tag(d.Tag)
		if err := remote.Write(tag, img, opts...); err != nil {
			return fmt.Errorf("pushing %s: %v", tag, err)
		}
		// Read back what the registry now serves under the tag.
		desc, err := remote.Head(tag, opts...)
		if err != nil {
			return fmt.Errorf("checking %s: %v", tag, err)
		}
		if desc.Digest != h {
			return fmt.Errorf("%s: registry serves %s, pushed %s", tag, desc.Digest, h)
		}
		fmt.Fprintf(out, "%s %s\n", d.Name, h)
		done = append(done, pushed{def: d, digest: h, repo: repo})
	}
	if *envFile != "" {
		if err := writeFileAtomic(*envFile, envLines(*envPrefix, reg.Name(), done)); err != nil {
			return err
		}
	}
	return nil
}

// envLines describes the pushed bundles, for tests. For a bundle named
// "no-workflow" and the default prefix:
//
//	WFE_BUNDLE_NO_WORKFLOW=HOST:PORT/REPO@sha256:…   pinned reference (Tekton's bundle param)
//	WFE_BUNDLE_NO_WORKFLOW_IMAGE=HOST:PORT/REPO:TAG  tagged reference (a WorkflowExecution's containerImage)
//	WFE_BUNDLE_NO_WORKFLOW_DIGEST=sha256:…           the digest (its containerDigest)
//
// plus PREFIX REGISTRY=HOST:PORT. Values need no quoting.
func envLines(prefix, registry string, done []pushed) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Tekton bundles pushed by push-bundles. KEY=VALUE lines; values need no quoting.\n")
	fmt.Fprintf(&b, "%sREGISTRY=%s\n", prefix, registry)
	for _, p := range done {
		v := prefix + strings.ToUpper(strings.ReplaceAll(p.def.Name, "-", "_"))
		fmt.Fprintf(&b, "%s=%s\n", v, p.repo.Digest(p.digest.String()))
		fmt.Fprintf(&b, "%s_IMAGE=%s\n", v, p.repo.Tag(p.def.Tag))
		fmt.Fprintf(&b, "%s_DIGEST=%s\n", v, p.digest)
	}
	return b.Bytes()
}

func writeFileAtomic(file string, data []byte) error {
	tmp := fmt.Sprintf("%s.tmp.%d", file, os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func cmdVerify(args []string, out io.Writer) error {
	fs := newFlags("verify")
	caFile := fs.String("ca-file", "", "PEM file of the CA(s) that the registry's certificate must chain to")
	envFile := fs.String("env-file", "", "verify every pinned bundle reference (PREFIX NAME=…@sha256:…) of this file")
	envPrefix := fs.String("env-prefix", "WFE_BUNDLE_", "prefix of the variables of --env-file")
	printContent := fs.Bool("print", false, "print each resource as stored")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	refs := fs.Args()
	if *envFile != "" {
		fromFile, err := refsFromEnvFile(*envFile, *envPrefix)
		if err != nil {
			return err
		}
		refs = append(refs, fromFile...)
	}
	if len(refs) == 0 {
		return usageError{"verify: no reference (give REF... or --env-file)"}
	}
	opts, cancel, err := remoteSession(*caFile, *timeout)
	if err != nil {
		return err
	}
	defer cancel()
	failed := 0
	for _, s := range refs {
		if err := verifyOne(s, opts, *printContent, out); err != nil {
			fmt.Fprintf(out, "FAIL %s: %v\n", s, err)
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d bundles failed verification", failed, len(refs))
	}
	return nil
}

// refsFromEnvFile returns the values of PREFIX* variables that hold a
// reference by digest.
func refsFromEnvFile(file, prefix string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, l := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if ok && strings.HasPrefix(k, prefix) && strings.Contains(v, "@sha256:") {
			refs = append(refs, v)
		}
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("%s: no %s…=…@sha256:… line", file, prefix)
	}
	return refs, nil
}

// verifyOne pulls one bundle and checks it as Tekton's bundles resolver
// would, and more strictly: manifest, layer count, annotations, one regular
// file per layer whose content names the same apiVersion, kind and name.
func verifyOne(s string, opts []remote.Option, printContent bool, out io.Writer) error {
	ref, err := name.ParseReference(s, name.StrictValidation)
	if err != nil {
		return err
	}
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return err
	}
	h, err := img.Digest()
	if err != nil {
		return err
	}
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != h.String() {
		return fmt.Errorf("registry served %s", h)
	}
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	if m.MediaType != types.OCIManifestSchema1 && m.MediaType != types.DockerManifestSchema2 {
		return fmt.Errorf("manifest media type %q is not an image manifest", m.MediaType)
	}
	if n := len(m.Layers); n == 0 || n > maxBundleObjects {
		return fmt.Errorf("%d layers: a bundle holds 1 to %d", n, maxBundleObjects)
	}
	fmt.Fprintf(out, "%s\n  digest %s, manifest %s, config %s, %d layer(s)\n", s, h, m.MediaType, m.Config.MediaType, len(m.Layers))
	seen := map[string]bool{}
	for i, desc := range m.Layers {
		a := desc.Annotations
		kind, objName, apiVersion := a[annotationKind], a[annotationName], a[annotationAPIVersion]
		if kind == "" || objName == "" || apiVersion == "" {
			return fmt.Errorf("layer %d: annotations %v lack one of %s, %s, %s", i, a, annotationAPIVersion, annotationKind, annotationName)
		}
		if strings.TrimSuffix(strings.ToLower(kind), "s") != kind {
			return fmt.Errorf("layer %d: kind %q must be lowercase and singular", i, kind)
		}
		if seen[kind+"/"+objName] {
			return fmt.Errorf("layer %d: %s %q appears twice", i, kind, objName)
		}
		seen[kind+"/"+objName] = true
		layer, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			return fmt.Errorf("layer %d: %v", i, err)
		}
		file, content, err := readSingleFileTar(layer)
		if err != nil {
			return fmt.Errorf("layer %d: %v", i, err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(content, &obj); err != nil {
			return fmt.Errorf("layer %d: content is not YAML/JSON: %v", i, err)
		}
		id, err := identify(obj)
		if err != nil {
			return fmt.Errorf("layer %d: %v", i, err)
		}
		if id.kind != kind || id.name != objName || (id.apiVersion != apiVersion && "tekton.dev/"+id.apiVersion != apiVersion) {
			return fmt.Errorf("layer %d: annotations say %s %s/%s, content is %s %s/%s", i, apiVersion, kind, objName, id.apiVersion, id.kind, id.name)
		}
		fmt.Fprintf(out, "  layer %d %s %s %d B: %s=%s %s=%s %s=%s; file %q %d B\n", i, desc.Digest, desc.MediaType, desc.Size,
			annotationAPIVersion, apiVersion, annotationKind, kind, annotationName, objName, file, len(content))
		if kind == "pipeline" {
			describePipeline(obj, out)
		}
		if printContent {
			fmt.Fprintf(out, "    ---\n%s", indent(string(content), "    "))
		}
	}
	fmt.Fprintf(out, "  ok\n")
	return nil
}

func readSingleFileTar(layer v1.Layer) (string, []byte, error) {
	rc, err := layer.Uncompressed()
	if err != nil {
		return "", nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		return "", nil, fmt.Errorf("not a tar: %v", err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return "", nil, fmt.Errorf("tar entry %q is not a regular file", hdr.Name)
	}
	content, err := io.ReadAll(tr)
	if err != nil {
		return "", nil, err
	}
	if _, err := tr.Next(); err != io.EOF {
		return "", nil, fmt.Errorf("tar holds more than one entry")
	}
	return hdr.Name, content, nil
}

// describePipeline prints each task of a Pipeline: its order, the metadata
// of an embedded taskSpec (what Tekton puts on the TaskRun and its pod) and
// its step images.
func describePipeline(obj map[string]any, out io.Writer) {
	spec, _ := obj["spec"].(map[string]any)
	var params []string
	for _, p := range asList(spec["params"]) {
		params = append(params, str(asMap(p)["name"]))
	}
	fmt.Fprintf(out, "    params %v\n", params)
	for _, t := range asList(spec["tasks"]) {
		tm := asMap(t)
		var after []string
		for _, a := range asList(tm["runAfter"]) {
			after = append(after, str(a))
		}
		ts := asMap(tm["taskSpec"])
		var images []string
		for _, s := range asList(ts["steps"]) {
			sm := asMap(s)
			images = append(images, str(sm["name"])+"="+str(sm["image"]))
		}
		if ts == nil {
			ref, _ := json.Marshal(tm["taskRef"])
			fmt.Fprintf(out, "    task %s runAfter %v taskRef %s\n", str(tm["name"]), after, ref)
			continue
		}
		meta := "none"
		if m := asMap(ts["metadata"]); len(m) > 0 {
			b, _ := json.Marshal(m)
			meta = string(b)
		}
		fmt.Fprintf(out, "    task %s runAfter %v steps %v taskSpec.metadata %s\n", str(tm["name"]), after, images, meta)
	}
}

func asList(v any) []any         { l, _ := v.([]any); return l }
func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }
func str(v any) string           { s, _ := v.(string); return s }
func indent(s, p string) string {
	return p + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+p) + "\n"
}
