package a100m;

import java.util.HashMap;
import org.apache.spark.sql.api.java.UDF2;
import scala.collection.Seq;

/**
 * a100m_child_counts(node_ids, parent_ids): for one video's nodes, how many nodes of the same
 * video name each node as their parent, in the nodes' order (array<int>, never null elements).
 *
 * The same count as grouping the video's non-null parent ids and joining them back on the node
 * id (pipelines/ingest/flatten.py, the built-in form): a null node id matches nothing and counts
 * 0; two nodes with the same id both get that id's count. A null array gives null (no nodes).
 */
public final class ChildCounts implements UDF2<Seq<String>, Seq<String>, int[]> {
  private static final long serialVersionUID = 1L;

  @Override
  public int[] call(Seq<String> nodeIds, Seq<String> parentIds) {
    if (nodeIds == null) {
      return null;
    }
    int nodes = nodeIds.length();
    int[] counts = new int[nodes];
    if (parentIds == null) {
      return counts;
    }
    int parents = parentIds.length();
    HashMap<String, int[]> children = new HashMap<>(Math.max(16, parents * 2));
    for (int i = 0; i < parents; i++) {
      String parent = parentIds.apply(i);
      if (parent != null) {
        int[] count = children.get(parent);
        if (count == null) {
          children.put(parent, new int[] {1});
        } else {
          count[0]++;
        }
      }
    }
    for (int i = 0; i < nodes; i++) {
      String node = nodeIds.apply(i);
      if (node != null) {
        int[] count = children.get(node);
        if (count != null) {
          counts[i] = count[0];
        }
      }
    }
    return counts;
  }
}
