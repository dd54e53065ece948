package main

import (
	"testing"
	"time"
)

func TestConfigKeyAndOwnershipSettings(t *testing.T) {
	env := map[string]string{
		"EDOSSIER_GATEWAY_API_KEY_FILE":                  "/shared/api-keys.json",
		"EDOSSIER_GATEWAY_API_KEY_REFRESH":               "5s",
		"EDOSSIER_GATEWAY_OWNERSHIP_CHECKS_PER_DOCUMENT": "2",
	}
	cfg, err := loadConfig([]string{"-ownershipCheckBurst", "7"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.APIKeyFile != "/shared/api-keys.json" || cfg.APIKeyRefresh != 5*time.Second || cfg.OwnershipChecksPerDocument != 2 ||
		cfg.OwnershipCheckBurst != 7 || cfg.OwnershipCheckInterval != 30*time.Second || cfg.OwnershipCheckWindow != 24*time.Hour {
		t.Fatalf("config %+v", cfg)
	}
	d := defaultConfig()
	if d.APIKeyFile != "" || d.APIKeyRefresh != 30*time.Second || d.OwnershipCheckBurst != 20 || d.OwnershipChecksPerDocument != 3 {
		t.Fatalf("defaults %+v", d)
	}
	for _, bad := range [][]string{{"-ownershipCheckBurst", "0"}, {"-ownershipCheckWindow", "-1s"}, {"-apiKeyRefresh", "-1s"}} {
		if _, err := loadConfig(bad, func(string) string { return "" }); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
