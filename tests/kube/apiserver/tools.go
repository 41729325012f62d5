//go:build tools

// Package apiserver pins the two binaries the Kubernetes tests run, so that
// go.sum fixes their exact sources.
package apiserver

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
