// Quiver: see DESIGN notes in README.
