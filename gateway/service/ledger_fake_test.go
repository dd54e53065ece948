package service

import "github.com/edossier-city/edossier/gateway/service/servicetest"

// The stub answers every method of Ledger; fakeLedger overrides what the tests use.
var (
	_ Ledger = servicetest.Ledger{}
	_ Ledger = (*fakeLedger)(nil)
)
