// Command coredns is CoreDNS with only the plugins the test environment's real node
// uses: cluster.local answered from the apiserver, nothing forwarded anywhere (the
// machine has no upstream resolver to reach, and pods must not try).
package main

import (
	"github.com/coredns/coredns/coremain"

	// Each import registers one plugin; a Corefile naming any other fails at start.
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() { coremain.Run() }
