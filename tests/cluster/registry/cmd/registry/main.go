// Command registry is the upstream CNCF Distribution registry
// (github.com/distribution/distribution/v3, the `registry` command of its
// cmd/registry) at the version pinned in ../../go.mod.
//
// Upstream's main also links the cloud storage drivers (S3, GCS, Azure),
// their middlewares, the token and "silly" auth providers and the
// pull-through proxy. The test plane keeps blobs on the local filesystem, so
// only the filesystem and in-memory drivers are linked here, plus htpasswd
// auth, so that a plane may require credentials (e.g. to test a bundle pull
// secret) by configuration alone. Everything else (configuration,
// `serve CONFIG`, `garbage-collect`, `--version`) is upstream's own code.
package main

import (
	"os"

	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

func main() {
	// The subcommands exit non-zero themselves when they fail; an error
	// returned here is a usage error (unknown command or flag).
	if err := registry.RootCmd.Execute(); err != nil {
		os.Exit(2)
	}
}
