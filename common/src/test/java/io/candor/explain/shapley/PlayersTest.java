package io.candor.explain.shapley;

import io.candor.data.FeatureGroup;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.candor.explain.shapley.KernelShapEstimatorTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class PlayersTest {
    @Test
    void groupsThatPartitionTheInputsAreAccepted() {
        Players p = Players.of(List.of(new int[] {2, 0}, new int[] {1}, new int[] {3, 4}), 5);
        assertEquals(3, p.count());
        assertEquals(5, p.inputs());
        assertArrayEquals(new int[] {2, 0}, p.group(0));
        assertArrayEquals(new int[] {2, 0, 3, 4}, p.columnsOf(new boolean[] {true, false, true}));
    }

    @Test
    void featureGroupsBecomePlayersInOrder() {
        Players p = Players.fromFeatureGroups(List.of(new FeatureGroup("age", List.of(0)),
                new FeatureGroup("colour", List.of(1, 2, 3))), 4);
        assertEquals(2, p.count());
        assertArrayEquals(new int[] {1, 2, 3}, p.group(1));
    }

    @Test
    void overlappingGroupsAreRejectedNamingBothGroups() {
        assertMessage(() -> Players.of(List.of(new int[] {0, 1}, new int[] {2}, new int[] {1, 3}), 4),
                "groups: group 0 [0, 1] and group 2 [1, 3] overlap at column 1; expected disjoint groups");
    }

    @Test
    void malformedGroupsAreRejectedNamingTheGroupAndColumn() {
        assertMessage(() -> Players.of(List.of(new int[] {0, 1}, new int[] {4}), 4),
                "groups: group 1 [4] has column 4; expected columns in 0..3 (model inputs = 4)");
        assertMessage(() -> Players.of(List.of(new int[] {0, 1}, new int[] {-1}), 2), "has column -1");
        assertMessage(() -> Players.of(List.of(new int[] {0, 0}, new int[] {1}), 2),
                "groups: group 0 [0, 0] lists column 0 twice");
        assertMessage(() -> Players.of(List.of(new int[] {0}, new int[0]), 2), "groups: group 1 is empty");
        assertMessage(() -> Players.of(List.of(), 2), "groups: [] is empty");
        assertMessage(() -> Players.of(List.of(new int[] {0}, new int[] {2}), 3),
                "groups: column 1 is in no group; expected the groups to cover every input column 0..2");
        assertMessage(() -> Players.singletons(0), "inputs: 0 is below 1");
    }
}
