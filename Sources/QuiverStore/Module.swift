// QuiverStore: see DESIGN notes in README.
