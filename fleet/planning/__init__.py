"""Planning: mission specs, fleet/robot classes, the routing solver layer and the plan verifier."""
