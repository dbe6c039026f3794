package sequences

import "testing"

func TestScreen(t *testing.T) {
	s := DefaultScreen()
	tests := []struct {
		text string
		want string // the term found; "" for none
	}{
		{"Your ketamine inquiry", "ketamine"},
		{"KETAMINE-assisted sessions", "ketamine"},
		{"About Spravato®", "spravato"},
		{"Psychedelics and you", "psychedelic"},
		{"mdma", "MDMA"},
		{"When depression lifts", "depression"},
		{"Feeling depressed?", "depressed"},
		{"PTSD: what helps", "PTSD"},
		{"After trauma", "trauma"},
		{"Self-harm resources", "self-harm"},
		{"self harm resources", "self-harm"},
		{"selfharm resources", "self-harm"},
		{"Self—Harm (em dash)", "self-harm"},
		{"On eating disorders", "eating disorder"},
		{"eating-disorder help", "eating disorder"},
		{"Therapy-resistant? Read on", "therapy-resistant"},
		{"therapy resistant", "therapy-resistant"},
		{"Notes on grief", "grief"},
		{"Living with OCD.", "OCD"},
		{"Bipolar, explained", "bipolar"},
		{"A suicide prevention note", "suicide"},
		{"Kétamine, accented", "ketamine"},
		{"ｋｅｔａｍｉｎｅ full width", "ketamine"},
		{"panic attacks", "panic"},
		// Not conditions, or not whole words.
		{"Thanks for reaching out", ""},
		{"What a first session looks like", ""},
		{"When numb feels safer than sad", ""},
		{"Would a free consult help?", ""},
		{"Going at your own pace", ""},
		{"Traumerei by Schumann", ""},
		{"The ocdrive update", ""},
		{"A hopeful panicle of flowers", ""},
		{"Selfish harmony", ""},
		{"Stillpoint Counseling", ""},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, found := s.Find(tt.text)
			if got != tt.want || found != (tt.want != "") {
				t.Errorf("Find(%q) = %q, %v; want %q", tt.text, got, found, tt.want)
			}
		})
	}
}

func TestScreenExtraTerms(t *testing.T) {
	s := NewScreen(append(DefaultTerms[:len(DefaultTerms):len(DefaultTerms)], "burnout"))
	if got, _ := s.Find("Beating burnout"); got != "burnout" {
		t.Errorf("extra term not found: %q", got)
	}
	if got, _ := s.Find("Your ketamine inquiry"); got != "ketamine" {
		t.Errorf("default term lost: %q", got)
	}
}
