package templates

import (
	"fmt"

	"github.com/vanng822/go-premailer/premailer"
)

// inlineCSS moves the rules of the document's <style> blocks into style
// attributes, because many mail clients ignore or strip <style>. Rules that
// cannot be inlined (the @media block) stay in a single <style> element in
// <head>, marked !important so they win over the inlined styles.
func inlineCSS(doc string) (string, error) {
	// Classes are kept: the @media rules that stay behind select by class.
	opts := premailer.NewOptions(premailer.WithRemoveClasses(false), premailer.WithCssToAttributes(true))
	p, err := premailer.NewPremailerFromString(doc, opts)
	if err != nil {
		return "", fmt.Errorf("inline css: %w", err)
	}
	out, err := p.Transform()
	if err != nil {
		return "", fmt.Errorf("inline css: %w", err)
	}
	return out, nil
}
