// Command partitioners prints the partition that Go Kafka clients pick for keyed records.
//
// Keys arrive on stdin, one hex-encoded key per line; the partition counts are the arguments.
// The output is one JSON object: {"<client>": {"<partitions>": [partition per key, ...]}}.
// No broker is needed: each client's partitioner is called directly, as its producer would.
// tests/clients/test_go_partitioners.py compares the result with streams.partitioning.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"os"
	"strconv"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

type partitioner func(key []byte, n int) int

func kafkaGo(b kafka.Balancer) partitioner {
	return func(key []byte, n int) int {
		partitions := make([]int, n)
		for i := range partitions {
			partitions[i] = i
		}
		return b.Balance(kafka.Message{Key: key}, partitions...)
	}
}

func franz(p kgo.Partitioner) partitioner {
	return func(key []byte, n int) int {
		tp := p.ForTopic("t")
		r := &kgo.Record{Key: key}
		if !tp.RequiresConsistency(r) {
			panic("a keyed record must be partitioned consistently")
		}
		if backup, ok := tp.(kgo.TopicBackupPartitioner); ok {
			return backup.PartitionByBackup(r, n, nil) // keyed: the backup iterator is unused
		}
		return tp.Partition(r, n)
	}
}

func saramaP(c sarama.PartitionerConstructor) partitioner {
	return func(key []byte, n int) int {
		p, err := c("t").Partition(&sarama.ProducerMessage{Key: sarama.ByteEncoder(key)}, int32(n))
		if err != nil {
			panic(err)
		}
		return int(p)
	}
}

// murmur2 is Kafka's Java Utils.murmur2, for sarama versions without NewMurmur2Partitioner.
type murmur2 struct{ data []byte }

func newMurmur2() hash.Hash32                  { return &murmur2{} }
func (m *murmur2) Write(p []byte) (int, error) { m.data = append(m.data, p...); return len(p), nil }
func (m *murmur2) Sum(b []byte) []byte         { return binary.BigEndian.AppendUint32(b, m.Sum32()) }
func (m *murmur2) Reset()                      { m.data = m.data[:0] }
func (m *murmur2) Size() int                   { return 4 }
func (m *murmur2) BlockSize() int              { return 4 }
func (m *murmur2) Sum32() uint32 {
	const seed, mix, r = uint32(0x9747b28c), uint32(0x5bd1e995), 24
	data, length := m.data, len(m.data)
	h := seed ^ uint32(length)
	for i := 0; i+4 <= length; i += 4 {
		k := binary.LittleEndian.Uint32(data[i:])
		k *= mix
		k ^= k >> r
		k *= mix
		h *= mix
		h ^= k
	}
	tail := data[length&^3:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= mix
	}
	h ^= h >> 13
	h *= mix
	h ^= h >> 15
	return h
}

var clients = map[string]partitioner{
	"kafka-go Murmur2Balancer":  kafkaGo(kafka.Murmur2Balancer{}),
	"kafka-go Hash":             kafkaGo(&kafka.Hash{}),
	"kafka-go CRC32Balancer":    kafkaGo(kafka.CRC32Balancer{}),
	"franz-go default":          franz(kgo.UniformBytesPartitioner(64<<10, true, true, nil)),
	"franz-go StickyKey":        franz(kgo.StickyKeyPartitioner(nil)),
	"sarama HashPartitioner":    saramaP(sarama.NewHashPartitioner),
	"sarama Murmur2Partitioner": saramaP(sarama.NewMurmur2Partitioner),
	"sarama custom murmur2": saramaP(sarama.NewCustomPartitioner(
		sarama.WithAbsFirst(), sarama.WithCustomHashFunction(newMurmur2))),
}

func main() {
	var keys [][]byte
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		key, err := hex.DecodeString(lines.Text())
		if err != nil {
			panic(err)
		}
		keys = append(keys, key)
	}
	out := map[string]map[string][]int{}
	for name, partition := range clients {
		out[name] = map[string][]int{}
		for _, arg := range os.Args[1:] {
			n, err := strconv.Atoi(arg)
			if err != nil || n < 1 {
				panic(fmt.Sprintf("bad partition count %q", arg))
			}
			chosen := make([]int, len(keys))
			for i, key := range keys {
				chosen[i] = partition(key, n)
			}
			out[name][arg] = chosen
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		panic(err)
	}
}
