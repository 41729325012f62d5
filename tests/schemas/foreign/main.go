// Command foreign prints, for every shipped schema version, the parsing canonical form and the
// single-object fingerprint that two Go Avro libraries compute, plus one sample record each
// library single-object encodes. tests/schemas/foreign/README.md says how to run it; its output
// is committed as fingerprints.json, so tests never need Go.
package main

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	hamba "github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/soe"
	"github.com/linkedin/goavro/v2"
)

type library struct {
	Canonical    string `json:"canonical"`
	Fingerprint  string `json:"fingerprint"`   // the 8 header bytes after C3 01, hex
	SingleObject string `json:"single_object"` // a sample record, single-object encoded, hex
}

type version struct {
	Family  string  `json:"family"`
	Version string  `json:"version"`
	GoAvro  library `json:"goavro"`
	Hamba   library `json:"hamba"`
}

// The sample's timestamps: 2026-03-01T12:00:00.123Z.
var sampleTime = time.UnixMilli(1772366400123).UTC()

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: foreign <schemas/avro directory>")
		os.Exit(2)
	}
	paths, err := filepath.Glob(filepath.Join(os.Args[1], "*", "v*.avsc"))
	check(err)
	sort.Strings(paths)
	var out []version
	for _, path := range paths {
		text, err := os.ReadFile(path)
		check(err)
		var schema interface{}
		check(json.Unmarshal(text, &schema))
		out = append(out, version{
			Family:  filepath.Base(filepath.Dir(path)),
			Version: strings.TrimSuffix(filepath.Base(path), ".avsc"),
			GoAvro:  goAvro(string(text), schema),
			Hamba:   hambaAvro(string(text), schema),
		})
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	check(enc.Encode(out))
}

func goAvro(text string, schema interface{}) library {
	codec, err := goavro.NewCodec(text)
	check(err)
	fingerprint := make([]byte, 8)
	binary.LittleEndian.PutUint64(fingerprint, codec.Rabin) // as SingleFromNative writes it
	single, err := codec.SingleFromNative(nil, sample(schema, map[string]interface{}{}, true))
	check(err)
	return library{codec.CanonicalSchema(), hex.EncodeToString(fingerprint), hex.EncodeToString(single)}
}

func hambaAvro(text string, schema interface{}) library {
	parsed, err := hamba.Parse(text)
	check(err)
	header, err := soe.BuildHeader(parsed) // C3 01 + CRC64-AVRO little-endian
	check(err)
	body, err := hamba.Marshal(parsed, sample(schema, map[string]interface{}{}, false))
	check(err)
	return library{parsed.String(), hex.EncodeToString(header[2:]), hex.EncodeToString(append(header, body...))}
}

// sample builds a deterministic datum for a JSON schema node: goavro's native form (unions as
// goavro.Union) when goavro is true, hamba's generic form otherwise (a named type in a union
// as {full name: value}). A union takes its last branch.
func sample(node interface{}, named map[string]interface{}, goavroForm bool) interface{} {
	switch n := node.(type) {
	case string:
		if def, ok := named[n]; ok {
			return sample(def, named, goavroForm)
		}
		return primitive(n, "")
	case []interface{}:
		branch := n[len(n)-1]
		value := sample(branch, named, goavroForm)
		if goavroForm {
			return goavro.Union(unionName(branch, named), value)
		}
		if name := unionName(branch, named); strings.HasPrefix(name, "io.kcp.tmc.") {
			return map[string]interface{}{name: value} // hamba: a named type as {name: value}
		}
		return value
	case map[string]interface{}:
		typ, _ := n["type"].(string)
		logical, _ := n["logicalType"].(string)
		switch typ {
		case "record":
			named[n["name"].(string)] = n
			record := map[string]interface{}{}
			for _, f := range n["fields"].([]interface{}) {
				field := f.(map[string]interface{})
				record[field["name"].(string)] = sample(field["type"], named, goavroForm)
			}
			return record
		case "enum":
			named[n["name"].(string)] = n
			return n["symbols"].([]interface{})[1].(string)
		case "array":
			return []interface{}{sample(n["items"], named, goavroForm)}
		case "map":
			return map[string]interface{}{"k": sample(n["values"], named, goavroForm)}
		case "fixed":
			named[n["name"].(string)] = n
			return make([]byte, int(n["size"].(float64)))
		default:
			return primitive(typ, logical)
		}
	}
	panic(fmt.Sprintf("unexpected schema node %v", node))
}

func primitive(typ, logical string) interface{} {
	switch {
	case logical == "timestamp-millis":
		return sampleTime
	case typ == "string":
		return "x"
	case typ == "long":
		return int64(7)
	case typ == "int":
		return int32(3)
	case typ == "boolean":
		return true
	case typ == "double":
		return 1.5
	case typ == "float":
		return float32(2.5)
	case typ == "bytes":
		return []byte("b")
	case typ == "null":
		return nil
	}
	panic("unexpected type " + typ)
}

// unionName is goavro's name for a union branch: the full name of a named type, or the type
// with its logical type ("long.timestamp-millis").
func unionName(branch interface{}, named map[string]interface{}) string {
	switch b := branch.(type) {
	case string:
		if def, ok := named[b]; ok {
			return fullName(def.(map[string]interface{}))
		}
		return b
	case map[string]interface{}:
		typ := b["type"].(string)
		if typ == "record" || typ == "enum" || typ == "fixed" {
			return fullName(b)
		}
		if logical, ok := b["logicalType"].(string); ok {
			return typ + "." + logical
		}
		return typ
	}
	panic("unexpected union branch")
}

func fullName(def map[string]interface{}) string {
	name := def["name"].(string)
	if strings.Contains(name, ".") {
		return name
	}
	return "io.kcp.tmc." + name // every shipped type lives there (a catalog rule)
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
