package index

import (
	"testing"

	"github.com/edossier-city/edossier/chaincode/wire"
)

// TestSubjectKeyChanges: the subject keys a datashare block's valid transactions
// write, active or not; nothing from an invalid transaction, another chaincode or
// another channel.
func TestSubjectKeyChanges(t *testing.T) {
	ns := DefaultNamespaces
	key := func(id, status string) kv {
		return kv{"sharing", ckey("skey", subjA, id), mustJSON(wire.SubjectKey{SubjectID: subjA, KeyID: id, Status: status})}
	}
	d := &chain{channel: "datashare"}
	raw := d.add(
		testTx{id: "t1", writes: []kv{key("k1", wire.KeyActive), key("k2", wire.KeyRemoved)}},
		testTx{id: "t2", invalid: true, writes: []kv{key("k3", wire.KeyRemoved)}},
		testTx{id: "t3", writes: []kv{{"dossier", ckey("skey", subjA, "k4"), []byte("{}")}, {"sharing", ckey("grant", "g1"), []byte("{}")}}},
	)
	b, err := ParseBlock("datashare", raw, map[string]bool{"sharing": true, "dossier": true})
	if err != nil {
		t.Fatal(err)
	}
	got := ns.SubjectKeyChanges(b)
	want := []SubjectKeyChange{{subjA, "k1", true}, {subjA, "k2", false}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("changes %+v, want %+v", got, want)
	}
	b.Channel = "municipal"
	if got := ns.SubjectKeyChanges(b); len(got) != 0 {
		t.Fatalf("changes on another channel: %+v", got)
	}
}
