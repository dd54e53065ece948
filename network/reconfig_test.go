package network

import (
	"errors"
	"strings"
	"testing"
)

func TestPlanChange(t *testing.T) {
	base := func() *Spec {
		s, err := LoadSpec("network.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	extra := OrgSpec{Name: "education", MSPID: "EducationMSP", Role: RoleDepartment, Title: "Education Bureau"}

	cur := base()
	cur.Organizations = append(cur.Organizations, extra)
	added, retired, err := planChange(base(), cur)
	if err != nil || len(added) != 1 || added[0].MSPID != "EducationMSP" || len(retired) != 0 {
		t.Fatalf("appended organisation: added %v, retired %v, err %v", added, retired, err)
	}
	if added, retired, err := planChange(base(), base()); err != nil || len(added)+len(retired) != 0 {
		t.Fatalf("same spec: added %v, retired %v, err %v", added, retired, err)
	}
	more := base()
	more.Ordering.Orderers = 3
	if added, retired, err := planChange(base(), more); err != nil || len(added)+len(retired) != 0 {
		t.Fatalf("more orderers: added %v, retired %v, err %v", added, retired, err)
	}
	gone := base()
	gone.Organizations[2].Retired = true
	if added, retired, err := planChange(base(), gone); err != nil || len(added) != 0 || len(retired) != 1 || retired[0].Name != "health" {
		t.Fatalf("retired organisation: added %v, retired %v, err %v", added, retired, err)
	}
	if _, _, err := planChange(gone, base()); !errors.Is(err, ErrSpecChange) || !strings.Contains(err.Error(), "does not come back") {
		t.Fatalf("un-retiring: err = %v, want a refusal", err)
	}

	for name, tc := range map[string]struct {
		edit func(*Spec)
		why  string
	}{
		"removed":   {func(s *Spec) { s.Organizations = s.Organizations[:len(s.Organizations)-1] }, "retired: true"},
		"inserted":  {func(s *Spec) { s.Organizations = append([]OrgSpec{extra}, s.Organizations...) }, "changed or moved"},
		"retitled":  {func(s *Spec) { s.Organizations[1].Title = "x" }, "organisation 2 (civil) changed"},
		"ticks":     {func(s *Spec) { s.Ordering.TickInterval.Duration *= 2 }, "ordering.tickInterval"},
		"channels":  {func(s *Spec) { s.Channels[1].BatchTimeout.Duration *= 2 }, "channels"},
		"chaincode": {func(s *Spec) { s.Chaincodes[0].Version = "2.0" }, "chaincodes"},
		"basePort":  {func(s *Spec) { s.BasePort++ }, "basePort"},
	} {
		s := base()
		tc.edit(s)
		_, _, err := planChange(base(), s)
		if !errors.Is(err, ErrSpecChange) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: err = %v, want ErrSpecChange naming %q", name, err, tc.why)
		}
	}
}
