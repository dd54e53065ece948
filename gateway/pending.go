package gateway

import "context"

// Pending is a write that enough peers endorsed and that is not yet submitted for
// ordering. Its result is known (the chaincode ran and accepted it) and nothing is
// committed; dropping it costs nothing. Submit sends it to the orderer and returns once
// it committed VALID, with the receipt. It lets a use case do work between the
// chaincode's verdict and the commit, such as making a file durable, without a separate
// check beforehand.
type Pending[T any] interface {
	// Result is the chaincode's answer in the endorsement.
	Result() *T
	// TxID is the ID the transaction will commit under.
	TxID() string
	// Submit orders the transaction and waits for its commit.
	Submit(ctx context.Context) (*T, Receipt, error)
}
