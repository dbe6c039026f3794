package roster

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// row is one data row of the file.
type row struct {
	line   int
	fields []string
	err    error // the CSV reader could not read the row
}

// decode returns the file's text as UTF-8, and a note when the file was not
// UTF-8 to begin with.
func decode(b []byte) (text, note string, err error) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		b = b[3:]
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}), bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		// Excel's "Unicode Text" export: UTF-16 whose byte-order mark says
		// which end comes first.
		out, err := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(b)
		if err != nil {
			return "", "", fmt.Errorf("decode UTF-16: %w", err)
		}
		return string(out), "decoded as UTF-16", nil
	}
	if utf8.Valid(b) {
		return string(b), "", nil
	}
	// Not UTF-8: most likely Excel on Windows, whose "CSV" is Windows-1252, a
	// superset of Latin-1 in which every byte is a character.
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return "", "", fmt.Errorf("decode Windows-1252: %w", err)
	}
	return string(out), "decoded as Windows-1252 (the file is not valid UTF-8)", nil
}

// sniffDelimiter picks the delimiter the header line uses most: a comma, a
// semicolon (spreadsheets in locales with a decimal comma) or a tab.
func sniffDelimiter(text string) rune {
	line, _, _ := strings.Cut(strings.TrimLeft(text, "\r\n"), "\n")
	counts := map[rune]int{}
	quoted := false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
	best := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

// parse reads the header and every non-blank data row of text.
func parse(text string) (header []string, rows []row, err error) {
	if !strings.Contains(text, "\n") {
		// Old Mac line endings: a lone CR ends each line.
		text = strings.ReplaceAll(text, "\r", "\n")
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = sniffDelimiter(text)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err = cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, errors.New("the file is empty: no header row")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read header: %w", err)
	}
	for {
		rec, err := cr.Read()
		var pe *csv.ParseError
		switch {
		case err == nil:
			line, _ := cr.FieldPos(0)
			if !blank(rec) {
				rows = append(rows, row{line: line, fields: rec})
			}
		case errors.As(err, &pe):
			rows = append(rows, row{line: pe.StartLine, err: pe.Err})
		case errors.Is(err, io.EOF):
			return header, rows, nil
		default:
			return nil, nil, fmt.Errorf("read csv: %w", err)
		}
	}
}

// blank reports whether a row has nothing in it, like the ",,," rows a
// spreadsheet leaves below its data.
func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}
