package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    Rate
		wantErr bool
		str     string
	}{
		{in: "20/s", want: Rate{N: 20, Per: time.Second}, str: "20/s"},
		{in: "100/m", want: Rate{N: 100, Per: time.Minute}, str: "100/m"},
		{in: "3600/h", want: Rate{N: 3600, Per: time.Hour}, str: "3600/h"},
		{in: " 5 / s ", want: Rate{N: 5, Per: time.Second}, str: "5/s"},
		{in: "0", want: Rate{}, str: "unlimited"},
		{in: "", want: Rate{}, str: "unlimited"},
		{in: "unlimited", want: Rate{}, str: "unlimited"},
		{in: "0/s", want: Rate{}, str: "unlimited"},
		{in: "20", wantErr: true},
		{in: "20/d", wantErr: true},
		{in: "-1/s", wantErr: true},
		{in: "x/s", wantErr: true},
		{in: "20/s/s", wantErr: true},
		{in: "1.5/s", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseRate(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseRate(%q) (-want +got):\n%s", tt.in, diff)
			}
			if got.String() != tt.str {
				t.Errorf("String() = %q, want %q", got.String(), tt.str)
			}
			if got.Unlimited() != (tt.want.N == 0) {
				t.Errorf("Unlimited() = %v for %+v", got.Unlimited(), got)
			}
			if back, err := ParseRate(got.String()); err != nil || back != got {
				t.Errorf("ParseRate(String()) = %+v, %v; want %+v", back, err, got)
			}
		})
	}
}

func TestRateInterval(t *testing.T) {
	if got := (Rate{N: 20, Per: time.Second}).Interval(); got != 50*time.Millisecond {
		t.Errorf("20/s interval = %v, want 50ms", got)
	}
	if got := (Rate{}).Interval(); got != 0 {
		t.Errorf("unlimited interval = %v, want 0", got)
	}
}

func TestRateBuiltInCodeIsChecked(t *testing.T) {
	c := Default()
	c.SMTP.Rate = Rate{N: 5}
	wantProblem(t, c.Validate(), "smtp.rate", "needs a positive period")
}

func TestParseDigest(t *testing.T) {
	tests := []struct {
		in      string
		want    DigestTime
		wantErr bool
	}{
		{in: "Mon 09:00", want: DigestTime{Day: time.Monday, Hour: 9}},
		{in: "sun 23:59", want: DigestTime{Day: time.Sunday, Hour: 23, Minute: 59}},
		{in: "FRI 00:05", want: DigestTime{Day: time.Friday, Minute: 5}},
		{in: "Monday 09:00", wantErr: true},
		{in: "Mon 9:00", wantErr: true},
		{in: "Mon 24:00", wantErr: true},
		{in: "Mon 09:60", wantErr: true},
		{in: "Mon", wantErr: true},
		{in: "09:00", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDigest(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseDigest(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseDigest(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
	if s := (DigestTime{Day: time.Tuesday, Hour: 7, Minute: 30}).String(); s != "Tue 07:30" {
		t.Errorf("String() = %q, want Tue 07:30", s)
	}
}
