package ca

import (
	"fmt"

	sdklog "github.com/hyperledger/fabric-sdk-go/pkg/core/logging/api"
)

// quietLogger silences fabric-sdk-go, which otherwise logs to stdout. Libraries do not
// log: every failure the adapter cares about comes back to it as an error. Fatal and
// Panic still stop the caller (they panic) so that the SDK never runs on after them.
type quietLogger struct{}

// GetLogger implements the SDK's LoggerProvider.
func (quietLogger) GetLogger(string) sdklog.Logger { return quietLogger{} }

func (quietLogger) Fatal(v ...any)                 { panic(fmt.Sprint(v...)) }
func (quietLogger) Fatalf(format string, v ...any) { panic(fmt.Sprintf(format, v...)) }
func (quietLogger) Fatalln(v ...any)               { panic(fmt.Sprintln(v...)) }
func (quietLogger) Panic(v ...any)                 { panic(fmt.Sprint(v...)) }
func (quietLogger) Panicf(format string, v ...any) { panic(fmt.Sprintf(format, v...)) }
func (quietLogger) Panicln(v ...any)               { panic(fmt.Sprintln(v...)) }
func (quietLogger) Print(...any)                   {}
func (quietLogger) Printf(string, ...any)          {}
func (quietLogger) Println(...any)                 {}
func (quietLogger) Debug(...any)                   {}
func (quietLogger) Debugf(string, ...any)          {}
func (quietLogger) Debugln(...any)                 {}
func (quietLogger) Info(...any)                    {}
func (quietLogger) Infof(string, ...any)           {}
func (quietLogger) Infoln(...any)                  {}
func (quietLogger) Warn(...any)                    {}
func (quietLogger) Warnf(string, ...any)           {}
func (quietLogger) Warnln(...any)                  {}
func (quietLogger) Error(...any)                   {}
func (quietLogger) Errorf(string, ...any)          {}
func (quietLogger) Errorln(...any)                 {}
