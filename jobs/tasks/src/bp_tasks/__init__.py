"""bp-tasks: task specs with language instructions and success predicates, and an Isaac Lab task package."""
