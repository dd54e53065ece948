package network

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// WatchOptions bound a supervisor.
type WatchOptions struct {
	// Interval between checks (default 2s).
	Interval time.Duration
	// MaxRestarts within Window (default 10 within 10m): a process that crashes
	// faster than that is not restarted forever; Watch returns an error instead.
	MaxRestarts int
	Window      time.Duration
}

// Watch supervises a network that is up: every Interval it checks that each process
// runs and, if any is missing, brings the network up again (Up restarts exactly the
// missing processes), logging each restart to Progress. It returns when ctx ends
// (nil) or when restarts exceed MaxRestarts within Window (an error), so that a
// process that crashes again and again is left to the operator.
func (n *Network) Watch(ctx context.Context, o WatchOptions) error {
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.MaxRestarts <= 0 {
		o.MaxRestarts = 10
	}
	if o.Window <= 0 {
		o.Window = 10 * time.Minute
	}
	var restarts []time.Time
	n.say("%s watching network %s (%s): checking every %s, at most %d restarts per %s",
		stamp(), n.spec.Name, n.home, o.Interval, o.MaxRestarts, o.Window)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.Interval):
		}
		down, err := n.downProcs()
		if err != nil {
			n.say("%s cannot read the process table: %v", stamp(), err)
			continue
		}
		if len(down) == 0 {
			continue
		}
		now := time.Now()
		kept := restarts[:0]
		for _, t := range restarts {
			if now.Sub(t) < o.Window {
				kept = append(kept, t)
			}
		}
		restarts = kept
		if len(restarts) >= o.MaxRestarts {
			return fmt.Errorf("%s down again after %d restarts within %s; giving up (see the logs in %s/logs)",
				strings.Join(down, ", "), len(restarts), o.Window, n.home)
		}
		restarts = append(restarts, now)
		n.say("%s restart %d: %s not running; bringing the network up", stamp(), len(restarts), strings.Join(down, ", "))
		err = n.Up(ctx)
		switch {
		case err == nil:
			n.say("%s restarted %s", stamp(), strings.Join(down, ", "))
		case ctx.Err() != nil:
			return nil
		case isBusy(err):
			n.say("%s another command is working on the network; trying again later", stamp())
			restarts = restarts[:len(restarts)-1]
		default:
			n.say("%s restart failed: %v", stamp(), err)
		}
	}
}

// downProcs names the expected processes that do not run.
func (n *Network) downProcs() ([]string, error) {
	n.mu.Lock()
	err := n.loadState()
	n.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var down []string
	for _, name := range n.expectedProcs() {
		p, ok := n.proc(name)
		if !ok || !n.alive(p) {
			down = append(down, name)
		}
	}
	return down, nil
}

var errBusy = errors.New("another edossierctl command is working on it")

func isBusy(err error) bool { return errors.Is(err, errBusy) }

func stamp() string { return time.Now().UTC().Format(time.RFC3339) }
