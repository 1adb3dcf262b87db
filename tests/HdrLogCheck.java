// Reads an HdrHistogram interval log with the HdrHistogram library's own
// HistogramLogReader and prints, per tag, the merged histogram's count and
// percentiles (value and its bucket's lowest equivalent value), and the
// number of intervals. Run: java -cp hdrhistogram.jar HdrLogCheck.java LOG
import java.io.File;
import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.EncodableHistogram;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogReader;

public class HdrLogCheck {
    public static void main(String[] args) throws Exception {
        HistogramLogReader reader = new HistogramLogReader(new File(args[0]));
        Map<String, Histogram> merged = new TreeMap<>();
        Map<String, Integer> intervals = new TreeMap<>();
        EncodableHistogram e;
        while ((e = reader.nextIntervalHistogram()) != null) {
            Histogram h = (Histogram) e;
            String tag = h.getTag() == null ? "" : h.getTag();
            merged.computeIfAbsent(tag, t -> new Histogram(1, 60_000_000_000L, 3)).add(h);
            intervals.merge(tag, 1, Integer::sum);
        }
        for (Map.Entry<String, Histogram> m : merged.entrySet()) {
            Histogram h = m.getValue();
            StringBuilder line = new StringBuilder(m.getKey() + " intervals=" + intervals.get(m.getKey()) +
                                                   " count=" + h.getTotalCount());
            for (double p : new double[] {50, 90, 99, 99.9}) {
                long v = h.getValueAtPercentile(p);
                line.append(" p").append(p).append("=").append(v).append("/").append(h.lowestEquivalentValue(v));
            }
            line.append(" max=").append(h.getMaxValue());
            System.out.println(line);
        }
    }
}
