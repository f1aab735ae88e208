print("quiver")
