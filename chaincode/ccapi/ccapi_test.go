package ccapi_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/ccapi"
	"github.com/edossier-city/edossier/chaincode/dossier"
	"github.com/edossier-city/edossier/chaincode/meta"
	"github.com/edossier-city/edossier/chaincode/sharing"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// The serializer skips schema checks of parameters because every transaction takes
// only strings (after the context); a transaction with another parameter type would
// lose contractapi's check, so this test refuses it.
func TestTransactionsTakeOnlyStrings(t *testing.T) {
	ctxType := reflect.TypeFor[contractapi.TransactionContextInterface]()
	n := 0
	for _, c := range []contractapi.ContractInterface{dossier.New(dossier.Config{}), sharing.New(sharing.Config{}), meta.New("v")} {
		typ := reflect.TypeOf(c)
		for i := range typ.NumMethod() {
			m := typ.Method(i)
			if m.Type.NumIn() < 2 || m.Type.In(1) != ctxType {
				continue // not a transaction
			}
			n++
			for j := 2; j < m.Type.NumIn(); j++ {
				if m.Type.In(j).Kind() != reflect.String {
					t.Errorf("%s.%s parameter %d is %s, not a string", typ, m.Name, j-1, m.Type.In(j))
				}
			}
		}
	}
	if n < 20 {
		t.Fatalf("found only %d transactions", n)
	}
}

func TestSerializerMatchesJSON(t *testing.T) {
	cc, err := ccapi.NewChaincode(meta.New("v"))
	if err != nil {
		t.Fatal(err)
	}
	s := cc.TransactionSerializer
	recs := []wire.Record{{RecordID: "r1", SubjectID: "p-1", Type: "birth", MediaType: "Ünïcode <&>", Size: 3}}
	got, err := s.ToString(reflect.ValueOf(recs), reflect.TypeOf(recs), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(recs)
	if got != string(want) {
		t.Fatalf("got %s, want %s", got, want)
	}
	v, err := s.FromString("a string", reflect.TypeFor[string](), nil, nil)
	if err != nil || v.String() != "a string" {
		t.Fatalf("FromString: %v %v", v, err)
	}
}
