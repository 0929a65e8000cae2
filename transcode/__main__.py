from transcode.cli import main

main()
