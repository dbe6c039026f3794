package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/practicemail/practicemail/internal/store"
)

// Sources of a sign-up, as recorded with the consent.
const (
	sourceForm    = "form"    // the hosted page
	sourceSnippet = "snippet" // a form pasted on the practice's own site
	sourceJSON    = "json"
)

// signupForm is what POST /subscribe carries, as a form or as JSON. Form
// field names are stable: the README's snippet and outside tests use them.
type signupForm struct {
	Email    string   `json:"email"`
	Name     string   `json:"name"`
	Topics   []string `json:"topics"`
	TimeZone string   `json:"time_zone"`
	Website  string   `json:"website"` // the honeypot: people leave it empty
	Stamp    string   `json:"-"`       // "ts": when the hosted form was served, signed
	ReturnTo string   `json:"-"`       // "return_to": where a pasted form's visitor goes next

	source  string
	address string // Email, checked and normalised by Validate
}

// errUnsupported is a body in a format POST /subscribe does not take.
var errUnsupported = errors.New("unsupported content type")

// readSignup reads the sign-up from r's body: JSON, urlencoded or multipart.
func readSignup(r *http.Request) (signupForm, error) {
	var f signupForm
	switch mt := mediaType(r); mt {
	case "application/json":
		f.source = sourceJSON
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&f); err != nil {
			return f, err
		}
		if _, err := dec.Token(); err != io.EOF {
			return f, errors.New("trailing data after the JSON object")
		}
		return f, checkUTF8(append([]string{f.Email, f.Name, f.TimeZone, f.Website}, f.Topics...)...)
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if err := parseForm(r, mt); err != nil {
			return f, err
		}
		pf := r.PostForm
		f.Email, f.Name, f.Website = pf.Get("email"), pf.Get("name"), pf.Get("website")
		f.Topics, f.Stamp, f.ReturnTo = pf["topics"], pf.Get("ts"), pf.Get("return_to")
		f.source = sourceSnippet
		if pf.Has("ts") {
			f.source = sourceForm
		}
		var all []string
		for _, vs := range pf {
			all = append(all, vs...)
		}
		return f, checkUTF8(all...)
	}
	return f, errUnsupported
}

// parseForm parses an urlencoded or multipart body into r.PostForm. A
// multipart body may carry no files: it is kept in memory, within maxBody.
func parseForm(r *http.Request, mt string) error {
	if mt == "multipart/form-data" {
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return err
		}
		if r.MultipartForm != nil && len(r.MultipartForm.File) > 0 {
			r.MultipartForm.RemoveAll()
			return errors.New("files are not accepted")
		}
		return nil
	}
	return r.ParseForm()
}

// mediaType is r's Content-Type without parameters, lower-cased.
func mediaType(r *http.Request) string {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt
}

func checkUTF8(vs ...string) error {
	for _, v := range vs {
		if !utf8.ValidString(v) {
			return errors.New("invalid UTF-8")
		}
	}
	return nil
}

// maxTimeZone is longer than any IANA zone name.
const maxTimeZone = 64

// Validate checks the form and normalises it, returning a message per field
// at fault ("email", "topics", "time_zone"), or nil.
func (f *signupForm) Validate() map[string]string {
	errs := map[string]string{}
	addr, msg := checkAddress(f.Email)
	if msg != "" {
		errs["email"] = msg
	}
	f.address = addr
	f.Name = store.CleanName(f.Name)
	topics := f.Topics[:0:0]
	for _, t := range f.Topics {
		if !slices.Contains(topics, t) {
			topics = append(topics, t)
		}
	}
	f.Topics = topics
	switch {
	case store.CheckTopics(topics) != nil:
		errs["topics"] = "Please choose from the topics listed."
	case len(topics) == 0 && f.source == sourceForm:
		errs["topics"] = "Please choose at least one thing to hear about."
	}
	if f.TimeZone != "" {
		if _, err := time.LoadLocation(f.TimeZone); err != nil || len(f.TimeZone) > maxTimeZone || f.TimeZone == "Local" {
			errs["time_zone"] = "Unknown time zone."
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// bodyStatus is the status for a body that could not be read: 413 when it
// was too large, else 415 or 400.
func bodyStatus(err error) int {
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errUnsupported):
		return http.StatusUnsupportedMediaType
	}
	return http.StatusBadRequest
}
