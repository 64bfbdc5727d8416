package pulumiyaml

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestFunctionLayers(t *testing.T) {
	layer := `  shared:
    type: aws:lambda/layerVersion:LayerVersion
    properties:
      layerName: shared-libs
      compatibleRuntimes: [python3.12]
      code: {fn::fileArchive: ./app}
`
	withLayers := func(list string) string {
		return head + layer + `  fn:
    type: aws:lambda/function:Function
    properties:
      runtime: python3.12
      handler: h.main
      code: {fn::fileArchive: ./app}
      layers: ` + list + "\n"
	}
	tests := []struct {
		name, text string
		want       []string // layers, relative to the program
		wantErr    string
	}{
		{name: "by arn output", text: withLayers(`["${shared.arn}"]`), want: []string{"app"}},
		{name: "twice, in order", text: withLayers(`["${shared.arn}", "${shared.arn}"]`), want: []string{"app", "app"}},
		{name: "a layer of another account", text: withLayers(`["arn:aws:lambda:us-east-1:123456789012:layer:x:3"]`),
			wantErr: `Pulumi.yaml:16:16: resource fn: layers[0] "arn:aws:lambda:us-east-1:123456789012:layer:x:3" does not refer to a aws:lambda:LayerVersion of this program`},
		{name: "not a list", text: withLayers("${shared.arn}"),
			wantErr: "Pulumi.yaml:16:15: resource fn: layers must be a list of layer version ARNs, not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := program(t, tt.text)
			p, err := Load(dir, Options{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range p.Spec.Functions["fn"].Layers {
				rel, _ := filepath.Rel(dir, l)
				got = append(got, rel)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("layers = %q, want %q", got, tt.want)
			}
		})
	}
}
