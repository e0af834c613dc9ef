package guard

import (
	"errors"
	"testing"
	"time"
)

func TestGoRecovers(t *testing.T) {
	got := make(chan error, 1)
	Go("test", func() { panic("boom") }, func(err error) { got <- err })
	select {
	case err := <-got:
		var pe *PanicError
		if !errors.As(err, &pe) || pe.Name != "test" || pe.Value != "boom" {
			t.Fatalf("onPanic got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("onPanic never called")
	}
}

func TestFuncRunsAndRecoversOnPanicToo(t *testing.T) {
	ran := false
	Func("ok", func() { ran = true }, func(error) { t.Error("onPanic without a panic") })()
	if !ran {
		t.Fatal("fn did not run")
	}
	// A panicking onPanic is recovered as well; nil onPanic is fine.
	Func("double", func() { panic(1) }, func(error) { panic(2) })()
	Func("nil", func() { panic(3) }, nil)()
}

func TestHook(t *testing.T) {
	SetTestHook(func(name string) {
		if name == "target" {
			panic("injected")
		}
	})
	defer SetTestHook(nil)
	var hit error
	ran := false
	Func("target", func() { ran = true }, func(err error) { hit = err })()
	if ran || hit == nil {
		t.Fatalf("hook did not panic before fn (ran %v, onPanic %v)", ran, hit)
	}
	Func("other", func() { ran = true }, nil)()
	if !ran {
		t.Fatal("hook stopped another goroutine")
	}
}
