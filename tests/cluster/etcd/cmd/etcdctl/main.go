// Command etcdctl is the upstream etcdctl (go.etcd.io/etcd/etcdctl/v3) at the
// version pinned in ../../go.mod. The fault script uses it to force a
// compaction so that watches from old resourceVersions get a real 410.
package main

import "go.etcd.io/etcd/etcdctl/v3/ctlv3"

func main() {
	ctlv3.MustStart()
}
