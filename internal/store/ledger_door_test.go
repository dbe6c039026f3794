package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Every read of the deliveries table goes through the ledger door, which
// folds the journal first: no read of the table through db.query or
// tx.query (the door's own are read and readRow), and no fold called by hand anywhere else. A new read that
// forgot the fold would see a row whose outcome is journalled as still
// queued, and send it again.
func TestLedgerReadsGoThroughTheDoor(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	readsTable := regexp.MustCompile(`(?i)\b(from|join)\s+deliveries\b`)
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			switch m := sel.Sel.Name; {
			case m == "query" || m == "queryRow":
				for _, arg := range call.Args {
					if s := literal(arg); readsTable.MatchString(s) {
						t.Errorf("%s: reads deliveries without the ledger door (db.ledger or tx.ledger)", fset.Position(call.Pos()))
					}
				}
			case (m == "fold" || m == "foldOutcomes") && name != "ledger.go" && name != "outcomes.go":
				t.Errorf("%s: folds the journal by hand; read through the ledger door instead", fset.Position(call.Pos()))
			}
			return true
		})
	}
}

// literal is the text of the string constants in expr, concatenated.
func literal(expr ast.Expr) string {
	var b strings.Builder
	ast.Inspect(expr, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil {
				b.WriteString(s)
				b.WriteByte(' ')
			}
		}
		return true
	})
	return b.String()
}
