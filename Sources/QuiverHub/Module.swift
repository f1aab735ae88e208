// QuiverHub: see DESIGN notes in README.
