package main

import (
	"github.com/edossier-city/edossier/gateway/fabric"
	"github.com/edossier-city/edossier/gateway/service"
)

// The Fabric adapter anchors batches (service.AnchorBatch and friends find it by this
// interface).
var _ service.BatchLedger = (*fabric.Client)(nil)
