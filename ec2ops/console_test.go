package ec2ops_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/charlize-app/charlize/ec2ops"
)

func TestConsoleOutput(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte // nil: the simulator's generated boot log
		want []string
	}{
		{"escapes and carriage returns", []byte("\x1b[32m[  OK  ]\x1b[0m Started sshd.\r\n\x1b]0;title\x07Progress 10%\rProgress 100%\r\n\tindented  \r\n"),
			[]string{"[  OK  ] Started sshd.", "Progress 100%", " indented"}},
		{"binary", []byte("boot\x00\x01\x02ok\xff\xfe\nnext\x7f line\n\n\n"), []string{"bootok\uFFFD", "next line"}},
		{"empty", []byte{}, nil},
		{"blank", []byte("\r\n\r\n   \r\n"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := mustEnv(t, envConfig{})
			env.sim.SetConsoleOutput(prodID, "eu-west-1", web1, tt.raw)
			inst := instanceOf(t, env, web1)
			c, err := env.fleet.ConsoleOutput(context.Background(), inst)
			if err != nil {
				t.Fatalf("ConsoleOutput = %v", err)
			}
			if diff := cmp.Diff(tt.want, c.Lines); diff != "" {
				t.Errorf("Lines (-want +got):\n%s", diff)
			}
			if c.Captured.IsZero() {
				t.Error("Captured is zero")
			}
		})
	}

	t.Run("generated", func(t *testing.T) {
		env := mustEnv(t, envConfig{})
		c, err := env.fleet.ConsoleOutput(context.Background(), instanceOf(t, env, web1))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Lines) < 5 || !strings.Contains(strings.Join(c.Lines, "\n"), "web-1 login:") {
			t.Errorf("Lines = %q, want the boot log", c.Lines)
		}
	})
	t.Run("out of scope", func(t *testing.T) {
		env := mustEnv(t, envConfig{})
		secret := ec2ops.Instance{Account: "acme-dev", Region: "eu-west-1", ID: "i-0000000000000c002", Tags: map[string]string{"Name": "secret-1"}}
		if _, err := env.fleet.ConsoleOutput(context.Background(), secret); !errors.Is(err, ec2ops.KindNotFound) {
			t.Errorf("ConsoleOutput outside the managed scope = %v, want KindNotFound", err)
		}
	})
	t.Run("denied", func(t *testing.T) {
		env := mustEnv(t, envConfig{})
		env.sim.Deny(prodID, "GetConsoleOutput")
		_, err := env.fleet.ConsoleOutput(context.Background(), instanceOf(t, env, web1))
		var e *ec2ops.Error
		if !errors.As(err, &e) || e.Kind != ec2ops.KindAccessDenied || !strings.Contains(e.UserMessage(), "ec2:GetConsoleOutput") {
			t.Errorf("denied ConsoleOutput = %v, want access denied naming ec2:GetConsoleOutput", err)
		}
	})
}

// instanceOf describes id in acme-prod/eu-west-1.
func instanceOf(t *testing.T, env *testEnv, id string) ec2ops.Instance {
	t.Helper()
	d, err := env.fleet.Describe(context.Background(), "acme-prod", "eu-west-1", id)
	if err != nil {
		t.Fatal(err)
	}
	return d.Instance
}
