// Prints, for every shipped schema version, Java Avro's Parsing Canonical Form and its
// CRC-64-AVRO fingerprint in single-object header order (little-endian), as JSON lines.
// Run: java -cp "<avro 1.12 jars>/*" Fingerprints.java ../../../schemas/avro (see README.md).
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

public class Fingerprints {
  public static void main(String[] args) throws Exception {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(Path.of(args[0]))) {
      files = walk.filter(p -> p.toString().endsWith(".avsc")).sorted().toList();
    }
    for (Path file : files) {
      Schema schema = new Schema.Parser().parse(file.toFile());
      long fp = SchemaNormalization.parsingFingerprint64(schema);
      byte[] le = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(fp).array();
      String family = file.getParent().getFileName().toString();
      String version = file.getFileName().toString().replace(".avsc", "");
      System.out.printf(
          "{\"family\": \"%s\", \"version\": \"%s\", \"fingerprint\": \"%s\"}%n",
          family, version, HexFormat.of().formatHex(le));
    }
  }
}
