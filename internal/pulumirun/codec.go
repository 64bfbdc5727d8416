package pulumirun

import (
	"fmt"
	"sort"

	"github.com/portico-dev/portico/internal/pulumiyaml"
	"google.golang.org/protobuf/types/known/structpb"
)

// Pulumi's wire format marks special values with a signature key; these
// are the values it takes (sdk/go/common/resource/sig in the Pulumi SDK).
const (
	sigKey         = "4dabf18193072939515e22adb298388d"
	sigAsset       = "c44067f5952c0a294b673a41bacd8c17"
	sigArchive     = "0def7320c3a5731c473e5ecbe6d01bc7"
	sigSecret      = "1b47061264138c4ac30d75fd1eb44270"
	sigResourceRef = "5cf8f73096256a8f31e491e813e4eb8e"
	sigOutputValue = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
	// unknownValue stands for a value not known yet (only in previews).
	unknownValue = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
)

// decodeStruct turns a property map off the wire into plain values:
// secrets lose their wrapper, resource references become their ID (or
// URN), archives and assets become pulumiyaml.Archive and Asset.
func decodeStruct(s *structpb.Struct) (map[string]any, error) {
	out := make(map[string]any, len(s.GetFields()))
	for k, v := range s.GetFields() {
		d, err := decode(v)
		if err != nil {
			return nil, fmt.Errorf("property %s: %w", k, err)
		}
		out[k] = d
	}
	return out, nil
}

func decode(v *structpb.Value) (any, error) {
	switch k := v.GetKind().(type) {
	case nil, *structpb.Value_NullValue:
		return nil, nil
	case *structpb.Value_NumberValue:
		return k.NumberValue, nil
	case *structpb.Value_BoolValue:
		return k.BoolValue, nil
	case *structpb.Value_StringValue:
		if k.StringValue == unknownValue {
			return nil, fmt.Errorf("value is unknown (not resolved when the program registered it)")
		}
		return k.StringValue, nil
	case *structpb.Value_ListValue:
		out := make([]any, len(k.ListValue.GetValues()))
		for i, e := range k.ListValue.GetValues() {
			d, err := decode(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = d
		}
		return out, nil
	case *structpb.Value_StructValue:
		return decodeObject(k.StructValue)
	}
	return nil, fmt.Errorf("unsupported value %v", v)
}

func decodeObject(s *structpb.Struct) (any, error) {
	f := s.GetFields()
	str := func(key string) string { return f[key].GetStringValue() }
	switch str(sigKey) {
	case "":
		return decodeStruct(s)
	case sigAsset:
		return pulumiyaml.Asset{Path: str("path"), Text: str("text"), URI: str("uri")}, nil
	case sigArchive:
		a := pulumiyaml.Archive{Path: str("path"), URI: str("uri")}
		if as := f["assets"].GetStructValue(); as != nil {
			m, err := decodeStruct(as)
			if err != nil {
				return nil, fmt.Errorf("archive: %w", err)
			}
			a.Assets = m
		}
		return a, nil
	case sigSecret, sigOutputValue:
		v, ok := f["value"]
		if !ok {
			return nil, fmt.Errorf("value is unknown (not resolved when the program registered it)")
		}
		return decode(v)
	case sigResourceRef:
		if id, ok := f["id"]; ok {
			return decode(id)
		}
		return str("urn"), nil
	}
	return nil, fmt.Errorf("unsupported special value %q", str(sigKey))
}

// encodeStruct turns plain values (as decodeStruct gives) into a property
// map for the wire.
func encodeStruct(m map[string]any) (*structpb.Struct, error) {
	s := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(m))}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := encode(m[k])
		if err != nil {
			return nil, fmt.Errorf("property %s: %w", k, err)
		}
		s.Fields[k] = v
	}
	return s, nil
}

func encode(v any) (*structpb.Value, error) {
	switch x := v.(type) {
	case pulumiyaml.Asset:
		return encode(map[string]any{sigKey: sigAsset, "path": x.Path, "text": x.Text, "uri": x.URI})
	case pulumiyaml.Archive:
		m := map[string]any{sigKey: sigArchive, "path": x.Path, "uri": x.URI}
		if x.Assets != nil {
			m["assets"] = x.Assets
		}
		return encode(m)
	case map[string]any:
		s, err := encodeStruct(x)
		if err != nil {
			return nil, err
		}
		return structpb.NewStructValue(s), nil
	case []any:
		l := &structpb.ListValue{Values: make([]*structpb.Value, len(x))}
		for i, e := range x {
			ev, err := encode(e)
			if err != nil {
				return nil, err
			}
			l.Values[i] = ev
		}
		return structpb.NewListValue(l), nil
	}
	return structpb.NewValue(v)
}
