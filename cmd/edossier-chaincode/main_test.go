package main

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigRefusesIncompleteEnvironment(t *testing.T) {
	full := map[string]string{"CHAINCODE_ID": "dossier_1.0:abc", "CHAINCODE_SERVER_ADDRESS": "127.0.0.1:1", "CHAINCODE_CONTRACT": "dossier", "EDOSSIER_OPERATOR_MSP": "OpMSP"}
	if _, err := configFrom(env(full)); err != nil {
		t.Fatal(err)
	}
	for _, drop := range []string{"CHAINCODE_ID", "CHAINCODE_SERVER_ADDRESS", "CHAINCODE_CONTRACT", "EDOSSIER_OPERATOR_MSP"} {
		m := map[string]string{}
		for k, v := range full {
			if k != drop {
				m[k] = v
			}
		}
		if _, err := configFrom(env(m)); err == nil || !strings.Contains(err.Error(), drop) {
			t.Errorf("without %s: err = %v", drop, err)
		}
	}
	half := map[string]string{"CHAINCODE_TLS_CERT": "x"}
	for k, v := range full {
		half[k] = v
	}
	if _, err := configFrom(env(half)); err == nil {
		t.Error("TLS cert without key accepted")
	}
}

func TestEveryContractSetBuilds(t *testing.T) {
	for _, set := range []string{"dossier", "sharing", "meta"} {
		cc, err := newChaincode(config{Contract: set, Version: "t", OperatorMSP: "OpMSP", DossierChannel: "municipal"})
		if err != nil {
			t.Fatalf("%s: %v", set, err)
		}
		if cc.DefaultContract != set {
			t.Errorf("%s: default contract %q", set, cc.DefaultContract)
		}
	}
	if _, err := newChaincode(config{Contract: "bank"}); err == nil {
		t.Error("unknown contract set accepted")
	}
}
